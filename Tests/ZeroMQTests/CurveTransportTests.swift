import Foundation
import Logging
import Synchronization
import Testing
@testable import ZeroMQ

/// A CURVE ROUTER server guarded by a ZAP handler, with helpers to make clients.
private struct CurveFixture {
    let context: ZMQContext
    let serverKeys: CurveKeyPair
    let handler: ZAPHandler
    let server: ZMQSocket
    let endpoint: String

    init(allowList: CurveAllowList, logger: Logger, onRefusal: (@Sendable (ZAPRefusal) -> Void)? = nil) throws {
        context = try ZMQContext()
        serverKeys = try CurveKeyPair.generate()
        handler = try ZAPHandler(context: context, allowList: allowList, logger: logger, onRefusal: onRefusal)
        var options = SocketOptions()
        options.curve = .server(secretKey: serverKeys.secretKey)
        options.routerMandatory = true
        server = try ZMQSocket(context: context, type: .router, options: options)
        try server.bind("tcp://127.0.0.1:*")
        endpoint = try server.lastEndpoint()
    }

    /// A DEALER using CURVE with `keys` (or plain NULL security when `keys` is nil).
    func client(keys: CurveKeyPair?, id: String) throws -> ZMQSocket {
        var options = SocketOptions()
        options.routingID = Data(id)
        options.reconnectInterval = .milliseconds(50)
        if let keys { options.curve = .client(serverKey: serverKeys.publicKey, keyPair: keys) }
        let socket = try ZMQSocket(context: context, type: .dealer, options: options)
        try socket.connect(endpoint)
        return socket
    }

    /// Closes the server before stopping the handler, as ZAPHandler requires.
    func shutDown() throws {
        try server.close()
        handler.stop()
        #expect(!handler.isRunning)
    }
}

@Suite("CURVE transport with the ZAP allow-list handler", .timeLimit(.minutes(1)))
struct CurveTransportTests {
    @Test("an allowed client exchanges messages and the server learns its key as User-Id")
    func allowedClientExchanges() throws {
        let (logger, _) = InMemoryLogHandler.logger()
        let workerKeys = try CurveKeyPair.generate()
        let fixture = try CurveFixture(allowList: CurveAllowList([workerKeys.publicKey]), logger: logger)
        let client = try fixture.client(keys: workerKeys, id: "w1")
        let monitor = try SocketMonitor(client)
        #expect(try client.isCurveEnabled())
        #expect(try monitor.waitForEvent(.handshakeSucceeded, timeout: .seconds(10)) != nil)

        #expect(try client.send([Data("hello"), Data(), patternBytes(count: 100_000)], timeout: .seconds(10)))
        let message = try #require(try fixture.server.receiveMessage(timeout: .seconds(10)))
        #expect(message.frames.count == 4)
        #expect(message.frames[0] == Data("w1"))
        #expect(message.frames[1] == Data("hello"))
        #expect(message.userID == workerKeys.publicKey.z85)
        #expect(message.peerAddress == "127.0.0.1")

        #expect(try fixture.server.send([Data("w1"), Data("ack")], timeout: .seconds(10)))
        #expect(try client.receive(timeout: .seconds(10)) == [Data("ack")])
        #expect(fixture.handler.admissionCount == 1)
        #expect(fixture.handler.refusalCount == 0)
        try client.close()
        try fixture.shutDown()
    }

    @Test("an unknown key gets nothing through and its refusal is logged with key and peer")
    func unknownKeyRefusedAndLogged() throws {
        let (logger, logs) = InMemoryLogHandler.logger()
        let refusals = Mutex<[ZAPRefusal]>([])
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        let fixture = try CurveFixture(allowList: CurveAllowList([allowed.publicKey]), logger: logger) { refusal in
            refusals.withLock { $0.append(refusal) }
        }
        let client = try fixture.client(keys: stranger, id: "intruder")
        let monitor = try SocketMonitor(client)
        _ = try client.send([Data("let me in")], timeout: .zero)
        // The refused worker learns why from its monitor: ZAP status 400.
        let refusedEvent = try #require(try monitor.waitForEvent(.handshakeFailedAuth, timeout: .seconds(10)))
        #expect(refusedEvent.value == 400)
        #expect(refusedEvent.endpoint == fixture.endpoint)
        #expect(try fixture.server.receive(timeout: .milliseconds(400)) == nil)
        #expect(waitUntil { fixture.handler.refusalCount >= 1 })
        #expect(fixture.handler.admissionCount == 0)

        let refused = try #require(logs.all.first { $0.message == "ZAP refused a client" })
        #expect(refused.level == .info)
        #expect(refused.metadata["zap.key"] == stranger.publicKey.z85)
        #expect(refused.metadata["peer.address"] == "127.0.0.1")
        #expect(refused.metadata["zap.mechanism"] == "CURVE")
        #expect(refused.metadata["zap.reason"] == "public key not on the allow-list")
        let first = try #require(refusals.withLock { $0.first })
        #expect(first.publicKey == stranger.publicKey)
        #expect(first.peerAddress == "127.0.0.1")
        #expect(try client.receive(timeout: .zero) == nil)
        try client.close()
        try fixture.shutDown()
    }

    @Test("a client without CURVE gets nothing through")
    func plainClientRefused() throws {
        let (logger, _) = InMemoryLogHandler.logger()
        let fixture = try CurveFixture(allowList: CurveAllowList([try CurveKeyPair.generate().publicKey]), logger: logger)
        let plain = try fixture.client(keys: nil, id: "plain")
        _ = try plain.send([Data("plaintext")], timeout: .zero)
        #expect(try fixture.server.receive(timeout: .milliseconds(400)) == nil)
        #expect(fixture.handler.admissionCount == 0)
        try plain.close()
        try fixture.shutDown()
    }

    @Test("reloading the allow-list admits a new key without restarting the server")
    func reloadAdmitsNewKey() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let (logger, logs) = InMemoryLogHandler.logger()
        let original = try CurveKeyPair.generate()
        let newcomer = try CurveKeyPair.generate()
        let listFile = directory.url.appendingPathComponent("workers.allow")
        try CurveAllowList.write(entries: [(original.publicKey, "original")], to: listFile)
        let fixture = try CurveFixture(allowList: try CurveAllowList(contentsOf: listFile), logger: logger)

        let client = try fixture.client(keys: newcomer, id: "newcomer")
        _ = try client.send([Data("queued before admission")], timeout: .zero)
        #expect(waitUntil { fixture.handler.refusalCount >= 1 })
        #expect(try fixture.server.receive(timeout: .milliseconds(100)) == nil)

        // A broken file is rejected with its line, and the old list stays in force.
        try "\(original.publicKey.z85)\nnot-a-key\n".write(to: listFile, atomically: true, encoding: .utf8)
        #expect(throws: KeyFileError.malformedLine(
            path: listFile.path, line: 2, reason: "expected a 40-character Z85 CURVE public key, found 9 characters")) {
            try fixture.handler.reloadAllowList(from: listFile)
        }
        #expect(fixture.handler.allowList == CurveAllowList([original.publicKey]))

        try CurveAllowList.write(entries: [(original.publicKey, "original"), (newcomer.publicKey, "newcomer")],
                                 to: listFile, overwrite: true)
        let reloaded = try fixture.handler.reloadAllowList(from: listFile)
        #expect(reloaded.count == 2)
        #expect(logs.all.contains { $0.message == "ZAP allow-list reloaded" && $0.metadata["zap.allowlist.count"] == "2" })

        // libzmq 4.3 does not retry a handshake the ZAP handler refused: the worker
        // reconnects (same socket, same key) and is admitted by the reloaded list.
        try client.reconnect(fixture.endpoint)
        #expect(try client.send([Data("after reload")], timeout: .seconds(10)))
        let message = try #require(try fixture.server.receiveMessage(timeout: .seconds(10)))
        #expect(message.frames == [Data("newcomer"), Data("after reload")])
        #expect(message.userID == newcomer.publicKey.z85)
        #expect(fixture.handler.admissionCount >= 1)
        try client.close()
        try fixture.shutDown()
    }

    @Test("without a running ZAP handler a CURVE server admits nobody (ZAP enforced)")
    func noHandlerAdmitsNobody() throws {
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        var options = SocketOptions()
        options.curve = .server(secretKey: serverKeys.secretKey)
        let server = try ZMQSocket(context: context, type: .router, options: options)
        try server.bind("tcp://127.0.0.1:*")
        var clientOptions = SocketOptions()
        clientOptions.curve = .client(serverKey: serverKeys.publicKey, keyPair: try CurveKeyPair.generate())
        let client = try ZMQSocket(context: context, type: .dealer, options: clientOptions)
        try client.connect(try server.lastEndpoint())
        _ = try client.send([Data("hi")], timeout: .zero)
        #expect(try server.receive(timeout: .milliseconds(400)) == nil)
    }

    @Test("ZAP handler: one per context, stops deterministically, stop is idempotent")
    func handlerLifecycle() throws {
        let (logger, _) = InMemoryLogHandler.logger()
        let context = try ZMQContext()
        let handler = try ZAPHandler(context: context, allowList: CurveAllowList([]), logger: logger)
        #expect(handler.isRunning)
        let error = try #require(#expect(throws: ZMQError.self) {
            _ = try ZAPHandler(context: context, allowList: CurveAllowList([]), logger: logger)
        })
        #expect(error.isAddressInUse)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            handler.stop()
            handler.stop()
        }
        #expect(!handler.isRunning)
        #expect(elapsed < .seconds(10))  // stopping must not hang; generous for a loaded CI runner
        // The endpoint is free again: a new handler can take over.
        let replacement = try ZAPHandler(context: context, allowList: CurveAllowList([]), logger: logger)
        #expect(replacement.isRunning)
        replacement.stop()
    }

    @Test("ZAP request handling follows RFC 27 reply framing")
    func zapReplyFraming() throws {
        let (logger, _) = InMemoryLogHandler.logger()
        let key = try CurveKeyPair.generate().publicKey
        let shared = try ZAPHandler.Shared(allowList: CurveAllowList([key]), logger: logger, onRefusal: nil)
        let request = [Data("1.0"), Data("7"), Data("dom"), Data("10.0.0.1"), Data("id"), Data("CURVE"), Data(key.bytes)]
        #expect(shared.answer(request) == [Data("1.0"), Data("7"), Data("200"), Data("OK"), Data(key.z85), Data()])
        let null = [Data("1.0"), Data("8"), Data(""), Data("10.0.0.2"), Data(""), Data("NULL")]
        #expect(shared.answer(null)[2] == Data("400"))
        #expect(shared.answer([Data("0.9")])[2] == Data("500"))
        #expect(shared.state.withLock { $0.refusals } == 1)
    }
}
