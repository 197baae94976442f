import Foundation
import Sweep
import Testing
import ZeroMQ

/// Thousands of random and mutated frames against a live coordinator: every bad message is
/// counted and dropped, and the coordinator still completes the sweep afterwards.
extension ClusterProcessTests {
    @Suite struct CoordinatorFuzzTests {
        /// SplitMix64: reproducible frames from a seed.
        struct Random {
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
            mutating func bytes(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }) }
        }

        /// A frame set shaped like the protocol (`[version, type, JSON header, payload…]`) with one
        /// part damaged, or plain noise.
        static func frames(_ r: inout Random) -> [Data] {
            let types = ["hello", "ready", "heartbeat", "dataset-request", "result-chunk", "result-commit", "failure",
                         "release", "bye", "assign", "bogus", ""]
            let headers = [#"{}"#, #"{"worker":"x"}"#, #"{"lease":"zz","unit":"00"}"#, #"{"capacity":-1}"#, "{", "null",
                           #"{"lease":"\#(String(repeating: "a", count: 300))"}"#, #"{"chunk":99999999,"total":1}"#]
            switch r.below(4) {
            case 0: return (0..<(1 + r.below(6))).map { _ in r.bytes(r.below(64)) }
            case 1: return [Data([WireMessage.version]), Data(types[r.below(types.count)].utf8)]
            case 2: return [Data([WireMessage.version]), Data(types[r.below(types.count)].utf8),
                            Data(headers[r.below(headers.count)].utf8)] + (r.below(2) == 0 ? [r.bytes(r.below(4096))] : [])
            default:
                var header = Data(headers[r.below(headers.count)].utf8)
                if !header.isEmpty { header[r.below(header.count)] ^= UInt8(1 + r.below(255)) }
                return [Data([UInt8(r.below(3))]), Data(types[r.below(types.count)].utf8), header]
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func coordinatorSurvivesRandomAndMutatedFramesThenCompletesASweep() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: Cluster.sweep(units: 5, method: "noop", tasks: 2))
            let coordinator = try cluster.start(["coordinator", "sweep.yaml", "--bind", cluster.endpoint, "--keep-running"],
                                                log: "coordinator.log")
            // Fuzz only once the coordinator listens, so no frame is lost to a not-yet-bound endpoint.
            let listening = Date().addingTimeInterval(15)
            while !cluster.log("coordinator.log").contains("coordinator listening"), Date() < listening { usleep(50_000) }
            let context = try ZMQContext()
            var random = Random(state: 2026)
            var sent = 0
            for peer in 0..<8 {
                var options = SocketOptions()
                options.linger = .seconds(2)  // deliver what is queued before closing
                let socket = try ZMQSocket(context: context, type: .dealer, options: options)
                try socket.setRoutingID(Data("fuzzer-\(peer)".utf8))
                try socket.connect(cluster.endpoint)
                for _ in 0..<500 {
                    if try socket.send(Self.frames(&random), timeout: .seconds(2)) { sent += 1 }
                    _ = try socket.receive(timeout: .zero)  // drain any reply
                }
                try socket.close()
            }
            #expect(sent >= 3_000)
            let dropped = Date().addingTimeInterval(10)
            while !cluster.log("coordinator.log").contains("dropped a bad message"), Date() < dropped { usleep(100_000) }
            #expect(coordinator.isRunning, "coordinator died under fuzzing:\n\(cluster.log("coordinator.log").suffix(2000))")
            #expect(cluster.log("coordinator.log").contains("dropped a bad message"))

            for i in 0..<2 { try cluster.startWorker(i, capacity: 2) }
            #expect(cluster.waitForJournal(seconds: 30) { ($0.counts[.done] ?? 0) == 10 },
                    "sweep did not complete after fuzzing:\n\(cluster.log("coordinator.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 10)
            kill(coordinator.processIdentifier, SIGTERM)
            #expect(cluster.wait(coordinator, seconds: 10))
        }
    }
}
