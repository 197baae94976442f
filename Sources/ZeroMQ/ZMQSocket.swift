import CZeroMQ
import Foundation

/// The socket patterns this module supports (`ZMQ_ROUTER`, `ZMQ_DEALER`, …).
public enum SocketType: Sendable, CaseIterable, CustomStringConvertible {
    /// Exclusive pair, mainly for `inproc://` signalling between two threads.
    case pair
    /// Strict request/reply client: send, receive, send, receive …
    case request
    /// Strict request/reply server: receive, send, receive, send …
    case reply
    /// Asynchronous client; load-balances sends over its connections. Used by workers.
    case dealer
    /// Asynchronous server; prefixes each received message with the sender's routing id
    /// frame and routes sends by that first frame. Used by the coordinator.
    case router

    var raw: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .request: ZMQ_REQ
        case .reply: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        }
    }

    public var description: String {
        switch self {
        case .pair: "PAIR"
        case .request: "REQ"
        case .reply: "REP"
        case .dealer: "DEALER"
        case .router: "ROUTER"
        }
    }
}

/// A received multipart message with the connection metadata libzmq attaches to it.
public struct ReceivedMessage: Sendable, Equatable {
    /// All frames in order. On a ROUTER the first frame is the sender's routing id.
    public var frames: [Data]
    /// The `User-Id` the ZAP handler assigned to the sending connection (for
    /// ``ZAPHandler`` this is the client's Z85 CURVE public key), or `nil` without ZAP.
    public var userID: String?
    /// The peer's address (`Peer-Address` property: the IP for TCP), when libzmq knows it.
    public var peerAddress: String?

    public init(frames: [Data], userID: String? = nil, peerAddress: String? = nil) {
        self.frames = frames
        self.userID = userID
        self.peerAddress = peerAddress
    }
}

/// One libzmq socket, owned by exactly one thread.
///
/// **Threading.** libzmq sockets are not thread-safe, so `ZMQSocket` is deliberately not
/// `Sendable`: create it on the thread that will use it (for example inside
/// ``DedicatedThread/run(name:_:)``) and never touch it from another thread. Its calls block
/// and MUST NOT run on Swift's cooperative pool (they are marked `noasync`).
///
/// **Lifetime.** The socket is closed by ``close()`` (which reports errors) or, failing
/// that, in `deinit`. It keeps its ``ZMQContext`` alive until then. Linger defaults to zero
/// (see ``SocketOptions/linger``) so closing never hangs on an unreachable peer.
///
/// **Timeouts.** Every send/receive takes `timeout: Duration?`: `nil` waits forever, `.zero`
/// does not wait, anything else waits at most that long. Running out of time returns
/// `nil`/`false`; only real failures throw ``ZMQError``.
///
/// Mirrors `zmq_socket`, `zmq_bind`, `zmq_connect`, `zmq_msg_send`, `zmq_msg_recv`,
/// `zmq_msg_gets`, `zmq_close`.
public final class ZMQSocket {
    /// The pattern this socket was created with.
    public let type: SocketType
    /// The context the socket belongs to (kept alive by the socket).
    public let context: ZMQContext
    private var handle: UnsafeMutableRawPointer?

    /// Creates a socket and applies `options` before any bind or connect.
    /// - Throws: ``ZMQError`` if libzmq refuses the socket or an option.
    public init(context: ZMQContext, type: SocketType, options: SocketOptions = SocketOptions()) throws(ZMQError) {
        self.context = context
        self.type = type
        self.handle = try Funnel.pointer("zmq_socket(\(type))") { zmq_socket(context.handle, type.raw) }
        do {
            try options.apply(to: self)
        } catch {
            try? close()
            throw error
        }
    }

    deinit {
        if let handle { zmq_close(handle) }
    }

    /// Closes the socket now. Idempotent; pending outgoing messages are kept for the linger
    /// period by libzmq's I/O thread. Mirrors `zmq_close`.
    /// - Throws: ``ZMQError`` if libzmq reports a failure (the handle is released regardless).
    public func close() throws(ZMQError) {
        guard let handle else { return }
        self.handle = nil
        try Funnel.call("zmq_close(\(type))") { zmq_close(handle) }
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    /// The open handle, or a `ENOTSOCK` error naming `operation` when closed.
    func openHandle(_ operation: String, endpoint: String? = nil) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw Funnel.closed(operation, endpoint: endpoint) }
        return handle
    }

    // MARK: Endpoints

    /// Binds to `endpoint` (`tcp://127.0.0.1:*` picks a free port; read it back with
    /// ``lastEndpoint()``). Mirrors `zmq_bind`.
    /// - Throws: ``ZMQError`` naming the endpoint, e.g. `EADDRINUSE`.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func bind(_ endpoint: String) throws(ZMQError) {
        let socket = try openHandle("zmq_bind", endpoint: endpoint)
        try Funnel.call("zmq_bind", endpoint: endpoint) { zmq_bind(socket, endpoint) }
    }

    /// Connects to `endpoint`; libzmq connects (and reconnects) in the background.
    /// Mirrors `zmq_connect`.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func connect(_ endpoint: String) throws(ZMQError) {
        let socket = try openHandle("zmq_connect", endpoint: endpoint)
        try Funnel.call("zmq_connect", endpoint: endpoint) { zmq_connect(socket, endpoint) }
    }

    /// Stops listening on a bound `endpoint` (use the resolved ``lastEndpoint()`` text for
    /// wildcard binds). Mirrors `zmq_unbind`.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let socket = try openHandle("zmq_unbind", endpoint: endpoint)
        try Funnel.call("zmq_unbind", endpoint: endpoint) { zmq_unbind(socket, endpoint) }
    }

    /// Drops the connection to `endpoint`. Mirrors `zmq_disconnect`.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let socket = try openHandle("zmq_disconnect", endpoint: endpoint)
        try Funnel.call("zmq_disconnect", endpoint: endpoint) { zmq_disconnect(socket, endpoint) }
    }

    /// Drops the connection to `endpoint` and connects again (`zmq_disconnect` +
    /// `zmq_connect`). Use it to retry after a refused CURVE handshake: libzmq 4.3 does not
    /// reconnect by itself after the ZAP handler refuses a client. Messages still queued for
    /// the old connection are discarded.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func reconnect(_ endpoint: String) throws(ZMQError) {
        let socket = try openHandle("zmq_disconnect", endpoint: endpoint)
        // ENOENT: the failed connection may already be gone; connecting again is what matters.
        _ = try? Funnel.call("zmq_disconnect", endpoint: endpoint) { zmq_disconnect(socket, endpoint) }
        try Funnel.call("zmq_connect", endpoint: endpoint) { zmq_connect(socket, endpoint) }
    }

    // MARK: Sending

    /// Sends `frames` as one multipart message (all frames arrive, or none).
    ///
    /// On a ROUTER, `frames[0]` is the destination routing id; a message for an unknown id is
    /// silently dropped unless ``SocketOptions/routerMandatory`` is set. Empty frames are allowed;
    /// an empty array is not (`EINVAL`). Each frame is copied once into a libzmq message.
    /// - Parameter timeout: `nil` waits until the message is queued, `.zero` never waits.
    /// - Returns: `true` when queued, `false` when the high-water mark kept it out until
    ///   `timeout` passed (the message was not sent).
    /// - Throws: ``ZMQError``; on a ROUTER with ``SocketOptions/routerMandatory`` an unknown
    ///   routing id throws with ``ZMQError/isHostUnreachable``.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    @discardableResult
    public func send(_ frames: [Data], timeout: Duration? = nil) throws(ZMQError) -> Bool {
        let socket = try openHandle("zmq_msg_send(\(type))")
        guard let first = frames.first else { throw Funnel.invalid("zmq_msg_send(\(type)): empty multipart message") }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var waitedForRoom = false
        // The first frame decides: once libzmq accepts it, the high-water mark is not
        // checked again until the message is complete, so the rest cannot block.
        while try !sendFrame(first, more: frames.count > 1, dontWait: true, socket: socket) {
            let remaining = deadline.map { $0 - ContinuousClock.now }
            if let remaining, remaining <= .zero { return false }
            if waitedForRoom {
                // POLLOUT on a ROUTER means "some peer has room", not necessarily ours:
                // back off briefly instead of spinning.
                _ = zmq_poll(nil, 0, Int(remaining.map { min(1, $0.zmqMilliseconds) } ?? 1))
            } else {
                _ = try Poller.wait(socket: socket, events: ZMQ_POLLOUT, timeout: remaining)
            }
            waitedForRoom = true
        }
        for index in frames.indices.dropFirst() {
            _ = try sendFrame(frames[index], more: index < frames.count - 1, dontWait: false, socket: socket)
        }
        return true
    }

    /// Sends a single-frame message. See ``send(_:timeout:)-([Data],_)``.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    @discardableResult
    public func send(_ frame: Data, timeout: Duration? = nil) throws(ZMQError) -> Bool {
        try send([frame], timeout: timeout)
    }

    /// Sends one frame; returns `false` on `EAGAIN`.
    private func sendFrame(_ frame: Data, more: Bool, dontWait: Bool, socket: UnsafeMutableRawPointer) throws(ZMQError) -> Bool {
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        let result = frame.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            Result { () throws(ZMQError) -> Int32? in
                try Funnel.callUnlessAgain("zmq_send(\(type))") {
                    zmq_send(socket, bytes.baseAddress, bytes.count, flags)
                }
            }
        }
        let sent = try result.get()
        return sent != nil
    }

    // MARK: Receiving

    /// Receives one multipart message.
    /// - Parameter timeout: `nil` waits forever, `.zero` only takes a message already queued.
    /// - Returns: the frames, or `nil` when nothing arrived within `timeout`.
    /// - Throws: ``ZMQError`` (for example ``ZMQError/isContextTerminated`` after
    ///   ``ZMQContext/shutdown()``).
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func receive(timeout: Duration? = nil) throws(ZMQError) -> [Data]? {
        try receiveMessage(timeout: timeout, metadata: false)?.frames
    }

    /// Receives one multipart message together with its connection metadata: the ZAP
    /// `User-Id` (the client's CURVE key under ``ZAPHandler``) and the peer address.
    /// - Parameter timeout: as in ``receive(timeout:)``.
    /// - Returns: the message, or `nil` when nothing arrived within `timeout`.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func receiveMessage(timeout: Duration? = nil) throws(ZMQError) -> ReceivedMessage? {
        try receiveMessage(timeout: timeout, metadata: true)
    }

    private func receiveMessage(timeout: Duration?, metadata: Bool) throws(ZMQError) -> ReceivedMessage? {
        let socket = try openHandle("zmq_msg_recv(\(type))")
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var received = ReceivedMessage(frames: [])
        // Parts of a multipart message arrive together, so only the first frame can wait.
        var dontWait = true
        while true {
            zmq_msg_init(message)
            defer { zmq_msg_close(message) }
            let size = try Funnel.callUnlessAgain("zmq_msg_recv(\(type))") {
                zmq_msg_recv(message, socket, dontWait ? ZMQ_DONTWAIT : 0)
            }
            guard let size else {
                precondition(received.frames.isEmpty, "libzmq delivered a partial multipart message")
                let remaining = deadline.map { $0 - ContinuousClock.now }
                if let remaining, remaining <= .zero { return nil }
                _ = try Poller.wait(socket: socket, events: ZMQ_POLLIN, timeout: remaining)
                continue
            }
            dontWait = false
            if size > 0, let data = zmq_msg_data(message) {
                received.frames.append(Data(bytes: data, count: Int(size)))
            } else {
                received.frames.append(Data())
            }
            if metadata {
                if received.userID == nil { received.userID = Self.property("User-Id", of: message) }
                if received.peerAddress == nil { received.peerAddress = Self.property("Peer-Address", of: message) }
            }
            if zmq_msg_more(message) == 0 { return received }
        }
    }

    /// A metadata property of a received frame, `nil` when absent. Mirrors `zmq_msg_gets`.
    private static func property(_ name: String, of message: UnsafeMutablePointer<zmq_msg_t>) -> String? {
        guard let value = zmq_msg_gets(message, name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}

/// Sockets are owned by one thread at a time; libzmq sockets are not thread-safe.
@available(*, unavailable, message: "a ZMQSocket belongs to the thread that created it")
extension ZMQSocket: Sendable {}
