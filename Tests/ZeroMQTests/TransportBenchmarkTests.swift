import Foundation
import Logging
import Testing
@testable import ZeroMQ

/// Round-trip latency and bulk throughput over tcp://127.0.0.1, plain and CURVE.
/// Gated: set `ZEROMQ_BENCH=1` to run (prints figures; asserts only that data arrived).
@Suite("ZeroMQ transport figures", .enabled(if: ProcessInfo.processInfo.environment["ZEROMQ_BENCH"] == "1"))
struct TransportBenchmarkTests {
    @Test("latency and throughput", arguments: [false, true])
    func measure(curve: Bool) throws {
        let context = try ZMQContext()
        let (logger, _) = InMemoryLogHandler.logger()
        let serverKeys = try CurveKeyPair.generate()
        let clientKeys = try CurveKeyPair.generate()
        var handler: ZAPHandler?
        var serverOptions = SocketOptions()
        var clientOptions = SocketOptions()
        clientOptions.routingID = Data("bench")
        if curve {
            handler = try ZAPHandler(context: context, allowList: CurveAllowList([clientKeys.publicKey]), logger: logger)
            serverOptions.curve = .server(secretKey: serverKeys.secretKey)
            clientOptions.curve = .client(serverKey: serverKeys.publicKey, keyPair: clientKeys)
        }
        let server = try ZMQSocket(context: context, type: .router, options: serverOptions)
        try server.bind("tcp://127.0.0.1:*")
        let client = try ZMQSocket(context: context, type: .dealer, options: clientOptions)
        try client.connect(try server.lastEndpoint())

        // Warm up (handshake) then time small round trips.
        try client.send([Data("warm")])
        let warm = try #require(try server.receive(timeout: .seconds(10)))
        try server.send([warm[0], Data("ok")])
        _ = try #require(try client.receive(timeout: .seconds(10)))

        let small = patternBytes(count: 200)
        let trips = 2000
        var start = ContinuousClock.now
        for _ in 0..<trips {
            try client.send([Data("h"), small])
            let request = try #require(try server.receive(timeout: .seconds(10)))
            try server.send([request[0], Data("r"), small])
            _ = try #require(try client.receive(timeout: .seconds(10)))
        }
        let latency = (ContinuousClock.now - start) / trips

        let big = patternBytes(count: 8 * 1024 * 1024)
        let count = 16
        start = ContinuousClock.now
        for _ in 0..<count {
            try client.send([Data("result"), big])
            let message = try #require(try server.receive(timeout: .seconds(5)))
            #expect(message[2].count == big.count)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let throughput = Double(count * big.count) / seconds / 1e6
        print("zeromq bench (\(curve ? "CURVE" : "plain")): round trip \(latency), 8 MiB frames \(String(format: "%.0f", throughput)) MB/s")
        try client.close()
        try server.close()
        handler?.stop()
    }
}
