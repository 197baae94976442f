import CZeroMQ
import Foundation

/// ZMTP heartbeat settings (`ZMQ_HEARTBEAT_IVL`, `ZMQ_HEARTBEAT_TIMEOUT`, `ZMQ_HEARTBEAT_TTL`).
///
/// With heartbeats on, libzmq PINGs idle connections and drops a connection whose peer
/// stays silent for `timeout`, so a dead worker's pipe (and its queued messages) goes away.
public struct Heartbeat: Sendable, Equatable {
    /// How often to send a PING on an idle connection.
    public var interval: Duration
    /// How long to wait for any traffic after a PING before dropping the connection
    /// (`nil`: libzmq uses `interval`).
    public var timeout: Duration?
    /// The time-to-live this side asks its peer to apply (`nil`: not sent). Rounded down to
    /// tenths of a second by libzmq.
    public var ttl: Duration?

    public init(interval: Duration, timeout: Duration? = nil, ttl: Duration? = nil) {
        self.interval = interval
        self.timeout = timeout
        self.ttl = ttl
    }
}

/// OS-level TCP keepalive (`ZMQ_TCP_KEEPALIVE*`); `nil` fields keep the OS defaults.
public struct TCPKeepalive: Sendable, Equatable {
    /// Idle time before the first probe (`ZMQ_TCP_KEEPALIVE_IDLE`, whole seconds).
    public var idle: Duration?
    /// Time between probes (`ZMQ_TCP_KEEPALIVE_INTVL`, whole seconds).
    public var interval: Duration?
    /// Unanswered probes before the connection is dropped (`ZMQ_TCP_KEEPALIVE_CNT`).
    public var count: Int32?

    public init(idle: Duration? = nil, interval: Duration? = nil, count: Int32? = nil) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}

/// The CURVE role of a socket. Keys MUST be set before `bind`/`connect`.
public enum CurveRole: Sendable {
    /// Server (`ZMQ_CURVE_SERVER`) with its secret key. Clients must know the public key.
    /// Also sets `ZMQ_ZAP_ENFORCE_DOMAIN` and, if none is set, the ZAP domain
    /// ``ZAPHandler/defaultDomain``, so that the context's ``ZAPHandler`` decides every
    /// handshake and no client is admitted while no handler is bound.
    case server(secretKey: CurveSecretKey)
    /// Client: the server's public key and this client's key pair.
    case client(serverKey: CurvePublicKey, keyPair: CurveKeyPair)
}

/// Socket options applied when a ``ZMQSocket`` is created; `nil` keeps libzmq's default.
///
/// Everything here can also be set later with the individual `set…` methods; options that
/// affect connections (CURVE, heartbeats, keepalive, routing id, high-water marks) only apply
/// to connections made after they are set, so set them before `bind`/`connect`.
public struct SocketOptions: Sendable {
    /// How long `close` keeps undelivered messages (`ZMQ_LINGER`). Defaults to zero here
    /// (libzmq's default is forever); `nil` means forever.
    public var linger: Duration? = .zero
    /// Outgoing queue limit in messages per peer (`ZMQ_SNDHWM`, libzmq default 1000, 0 = none).
    public var sendHighWaterMark: Int32?
    /// Incoming queue limit in messages per peer (`ZMQ_RCVHWM`, libzmq default 1000, 0 = none).
    public var receiveHighWaterMark: Int32?
    /// Largest accepted inbound message in bytes (`ZMQ_MAXMSGSIZE`); a peer that sends a
    /// larger one is disconnected and the message is dropped.
    public var maxMessageSize: Int64?
    /// ZMTP heartbeats.
    public var heartbeat: Heartbeat?
    /// TCP keepalive; `nil` keeps the OS setting.
    public var tcpKeepalive: TCPKeepalive?
    /// This socket's routing id as seen by a ROUTER peer (`ZMQ_ROUTING_ID`, 1–255 bytes, the
    /// first byte not zero).
    public var routingID: Data?
    /// ROUTER only: fail sends to unknown routing ids with `EHOSTUNREACH` instead of
    /// silently dropping them (`ZMQ_ROUTER_MANDATORY`).
    public var routerMandatory: Bool?
    /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
    public var immediate: Bool?
    /// First reconnect delay (`ZMQ_RECONNECT_IVL`, libzmq default 100 ms).
    public var reconnectInterval: Duration?
    /// Upper bound for exponential reconnect back-off (`ZMQ_RECONNECT_IVL_MAX`, 0 = none).
    public var reconnectIntervalMax: Duration?
    /// Maximum time for the ZMTP/CURVE handshake (`ZMQ_HANDSHAKE_IVL`, default 30 s).
    public var handshakeInterval: Duration?
    /// CURVE server or client setup.
    public var curve: CurveRole?
    /// ZAP domain sent to the ZAP handler (`ZMQ_ZAP_DOMAIN`).
    public var zapDomain: String?

    public init() {}

    /// Applies every non-`nil` option to `socket`, in an order valid before bind/connect.
    func apply(to socket: ZMQSocket) throws(ZMQError) {
        try socket.setLinger(linger)
        if let sendHighWaterMark { try socket.setSendHighWaterMark(sendHighWaterMark) }
        if let receiveHighWaterMark { try socket.setReceiveHighWaterMark(receiveHighWaterMark) }
        if let maxMessageSize { try socket.setMaxMessageSize(maxMessageSize) }
        if let heartbeat { try socket.setHeartbeat(heartbeat) }
        if let tcpKeepalive { try socket.setTCPKeepalive(tcpKeepalive) }
        if let routingID { try socket.setRoutingID(routingID) }
        if let routerMandatory { try socket.setRouterMandatory(routerMandatory) }
        if let immediate { try socket.setImmediate(immediate) }
        if reconnectInterval != nil || reconnectIntervalMax != nil {
            try socket.setReconnectInterval(reconnectInterval, max: reconnectIntervalMax)
        }
        if let handshakeInterval { try socket.setHandshakeInterval(handshakeInterval) }
        if let zapDomain { try socket.setZAPDomain(zapDomain) }
        if let curve { try socket.setCurve(curve) }
    }
}

extension ZMQSocket {
    // MARK: Individual options (mirror zmq_setsockopt / zmq_getsockopt)

    /// Sets `ZMQ_LINGER`; `nil` = keep forever (can make context termination wait).
    public func setLinger(_ linger: Duration?) throws(ZMQError) {
        try setOption(ZMQ_LINGER, "ZMQ_LINGER", int: zmqTimeout(linger))
    }

    /// Sets `ZMQ_SNDHWM` (messages per peer, 0 = unlimited).
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(ZMQ_SNDHWM, "ZMQ_SNDHWM", int: messages)
    }

    /// Sets `ZMQ_RCVHWM` (messages per peer, 0 = unlimited).
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setOption(ZMQ_RCVHWM, "ZMQ_RCVHWM", int: messages)
    }

    /// Sets `ZMQ_MAXMSGSIZE` in bytes (-1 = unlimited): larger inbound messages make libzmq
    /// drop the message and disconnect that peer.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        try setOption(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE", int64: bytes)
    }

    /// Sets ZMTP heartbeats (`ZMQ_HEARTBEAT_IVL`, `_TIMEOUT`, `_TTL`).
    public func setHeartbeat(_ heartbeat: Heartbeat) throws(ZMQError) {
        try setOption(ZMQ_HEARTBEAT_IVL, "ZMQ_HEARTBEAT_IVL", int: heartbeat.interval.zmqMilliseconds)
        if let timeout = heartbeat.timeout {
            try setOption(ZMQ_HEARTBEAT_TIMEOUT, "ZMQ_HEARTBEAT_TIMEOUT", int: timeout.zmqMilliseconds)
        }
        if let ttl = heartbeat.ttl {
            try setOption(ZMQ_HEARTBEAT_TTL, "ZMQ_HEARTBEAT_TTL", int: ttl.zmqMilliseconds)
        }
    }

    /// Turns TCP keepalive on with the given parameters (`ZMQ_TCP_KEEPALIVE*`).
    public func setTCPKeepalive(_ keepalive: TCPKeepalive) throws(ZMQError) {
        try setOption(ZMQ_TCP_KEEPALIVE, "ZMQ_TCP_KEEPALIVE", int: 1)
        if let idle = keepalive.idle {
            try setOption(ZMQ_TCP_KEEPALIVE_IDLE, "ZMQ_TCP_KEEPALIVE_IDLE", int: Int32(clamping: idle.components.seconds))
        }
        if let interval = keepalive.interval {
            try setOption(ZMQ_TCP_KEEPALIVE_INTVL, "ZMQ_TCP_KEEPALIVE_INTVL", int: Int32(clamping: interval.components.seconds))
        }
        if let count = keepalive.count {
            try setOption(ZMQ_TCP_KEEPALIVE_CNT, "ZMQ_TCP_KEEPALIVE_CNT", int: count)
        }
    }

    /// Sets `ZMQ_ROUTING_ID` (1–255 bytes, first byte not zero; zero-prefixed ids are
    /// reserved for libzmq's generated ones).
    public func setRoutingID(_ id: Data) throws(ZMQError) {
        guard (1...255).contains(id.count), id.first != 0 else {
            throw Funnel.invalid("zmq_setsockopt(ZMQ_ROUTING_ID): id must be 1-255 bytes, not starting with 0x00")
        }
        try setOption(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", bytes: id)
    }

    /// Reads `ZMQ_ROUTING_ID` (empty when none was set).
    public func routingID() throws(ZMQError) -> Data {
        try option(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", capacity: 256)
    }

    /// Sets `ZMQ_ROUTER_MANDATORY` (ROUTER only).
    public func setRouterMandatory(_ mandatory: Bool) throws(ZMQError) {
        try setOption(ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY", int: mandatory ? 1 : 0)
    }

    /// Sets `ZMQ_IMMEDIATE`.
    public func setImmediate(_ immediate: Bool) throws(ZMQError) {
        try setOption(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE", int: immediate ? 1 : 0)
    }

    /// Sets `ZMQ_RECONNECT_IVL` and, when given, `ZMQ_RECONNECT_IVL_MAX`.
    public func setReconnectInterval(_ interval: Duration?, max: Duration? = nil) throws(ZMQError) {
        if let interval {
            try setOption(ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL", int: interval.zmqMilliseconds)
        }
        if let max {
            try setOption(ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX", int: max.zmqMilliseconds)
        }
    }

    /// Sets `ZMQ_HANDSHAKE_IVL`.
    public func setHandshakeInterval(_ interval: Duration) throws(ZMQError) {
        try setOption(ZMQ_HANDSHAKE_IVL, "ZMQ_HANDSHAKE_IVL", int: interval.zmqMilliseconds)
    }

    /// Sets `ZMQ_ZAP_DOMAIN`.
    public func setZAPDomain(_ domain: String) throws(ZMQError) {
        try setOption(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", bytes: Data(domain.utf8))
    }

    /// Configures CURVE (`ZMQ_CURVE_SERVER` + `ZMQ_CURVE_SECRETKEY`, or
    /// `ZMQ_CURVE_SERVERKEY` + `ZMQ_CURVE_PUBLICKEY` + `ZMQ_CURVE_SECRETKEY`).
    /// MUST be called before `bind`/`connect`.
    public func setCurve(_ role: CurveRole) throws(ZMQError) {
        switch role {
        case .server(let secretKey):
            try setOption(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", int: 1)
            // Defence in depth: with ZMQ_ZAP_ENFORCE_DOMAIN and a non-empty ZAP domain,
            // libzmq 4.3 refuses every client while no ZAP handler is bound, instead of
            // admitting anyone who knows the server key. (libzmq only consults ZAP for an
            // enforced socket whose domain is set, so a default domain is filled in.)
            // Builds that reject the option (EINVAL) keep the legacy behaviour.
            do {
                try setOption(czmq_ZAP_ENFORCE_DOMAIN(), "ZMQ_ZAP_ENFORCE_DOMAIN", int: 1)
            } catch where error.code == czmq_EINVAL() {}
            if try option(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", capacity: 256).allSatisfy({ $0 == 0 }) {
                try setZAPDomain(ZAPHandler.defaultDomain)
            }
            try setOption(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", bytes: secretKey.bytes)
        case .client(let serverKey, let keyPair):
            try setOption(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", bytes: serverKey.bytes)
            try setOption(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", bytes: keyPair.publicKey.bytes)
            try setOption(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", bytes: keyPair.secretKey.bytes)
        }
    }

    /// The endpoint last bound or connected, resolved (`ZMQ_LAST_ENDPOINT`): after binding
    /// `tcp://127.0.0.1:*` this is e.g. `tcp://127.0.0.1:43211`.
    public func lastEndpoint() throws(ZMQError) -> String {
        let bytes = try option(ZMQ_LAST_ENDPOINT, "ZMQ_LAST_ENDPOINT", capacity: 1024)
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The port of ``lastEndpoint()`` for a TCP endpoint, `nil` for other transports.
    public func lastTCPPort() throws(ZMQError) -> Int? {
        let endpoint = try lastEndpoint()
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
        return Int(endpoint[endpoint.index(after: colon)...])
    }

    /// The security mechanism in effect (`ZMQ_MECHANISM`): `ZMQ_NULL`, `ZMQ_PLAIN` or `ZMQ_CURVE`.
    public func isCurveEnabled() throws(ZMQError) -> Bool {
        try intOption(ZMQ_MECHANISM, "ZMQ_MECHANISM") == ZMQ_CURVE
    }

    // MARK: Raw access

    /// Sets an `int` option. Prefer the typed setters; this exists for options not wrapped.
    public func setOption(_ option: Int32, _ name: String, int value: Int32) throws(ZMQError) {
        let socket = try openHandle("zmq_setsockopt(\(name))")
        var value = value
        try Funnel.call("zmq_setsockopt(\(name))") {
            zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size)
        }
    }

    func setOption(_ option: Int32, _ name: String, int64 value: Int64) throws(ZMQError) {
        let socket = try openHandle("zmq_setsockopt(\(name))")
        var value = value
        try Funnel.call("zmq_setsockopt(\(name))") {
            zmq_setsockopt(socket, option, &value, MemoryLayout<Int64>.size)
        }
    }

    func setOption(_ option: Int32, _ name: String, bytes: some DataProtocol) throws(ZMQError) {
        let socket = try openHandle("zmq_setsockopt(\(name))")
        let buffer = [UInt8](bytes)
        try Funnel.call("zmq_setsockopt(\(name))") {
            buffer.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        }
    }

    /// Reads an `int` option. Prefer the typed accessors.
    public func intOption(_ option: Int32, _ name: String) throws(ZMQError) -> Int32 {
        let socket = try openHandle("zmq_getsockopt(\(name))")
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try Funnel.call("zmq_getsockopt(\(name))") { zmq_getsockopt(socket, option, &value, &size) }
        return value
    }

    func option(_ option: Int32, _ name: String, capacity: Int) throws(ZMQError) -> Data {
        let socket = try openHandle("zmq_getsockopt(\(name))")
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        try Funnel.call("zmq_getsockopt(\(name))") {
            buffer.withUnsafeMutableBytes { zmq_getsockopt(socket, option, $0.baseAddress, &size) }
        }
        return Data(buffer.prefix(size))
    }
}
