import CZeroMQ

/// Facts about the linked libzmq, and the intended use of this module.
///
/// ## Coordinator (ROUTER, binds)
/// 1. `let context = try ZMQContext()`
/// 2. Start the allow-list handler first:
///    `let zap = try ZAPHandler(context: context, allowList: CurveAllowList(contentsOf: url), logger: logger)`
/// 3. On the thread that owns the socket (``DedicatedThread/run(name:_:)``): create a ROUTER
///    with ``SocketOptions`` (`curve = .server(secretKey:)`, `routerMandatory = true`,
///    `maxMessageSize`, `heartbeat`), `bind`, read ``ZMQSocket/lastEndpoint()``.
/// 4. Loop: ``Poller/poll(timeout:)`` over the ROUTER and a control socket or pipe;
///    ``ZMQSocket/receiveMessage(timeout:)`` gives `[routing id, …]` plus the worker's key
///    in ``ReceivedMessage/userID``; reply with `send([routingID, …])`.
/// 5. Shutdown: close the ROUTER, then ``ZAPHandler/stop()``, then drop the context.
///
/// ## Worker (DEALER, connects)
/// A DEALER with `curve = .client(serverKey:keyPair:)`, `heartbeat`, `reconnectInterval`,
/// owned by the worker's network thread. Other threads (compute) talk to that thread
/// through their own `.pair` sockets over `inproc://` — never share a socket. A
/// ``SocketMonitor`` reports ``SocketEventKinds/handshakeFailedAuth`` when the
/// coordinator's allow-list refuses the key; libzmq does not retry a refused handshake, so
/// call ``ZMQSocket/reconnect(_:)`` (or give up) after that.
public enum ZeroMQLibrary {
    /// libzmq's version as `(major, minor, patch)` (`zmq_version`).
    public static var version: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// libzmq's version as text, e.g. `"4.3.4"`, for logs.
    public static var versionString: String {
        let v = version
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    /// Whether libzmq supports a capability (`zmq_has`): `"curve"`, `"ipc"`, `"draft"`, …
    public static func has(_ capability: String) -> Bool { zmq_has(capability) != 0 }
}
