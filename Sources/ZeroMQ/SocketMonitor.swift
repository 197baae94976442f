import CZeroMQ
import Foundation
import Synchronization

/// Kinds of transport events a ``SocketMonitor`` reports (`ZMQ_EVENT_*`).
public struct SocketEventKinds: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let connected = Self(rawValue: UInt16(ZMQ_EVENT_CONNECTED))
    public static let connectDelayed = Self(rawValue: UInt16(ZMQ_EVENT_CONNECT_DELAYED))
    public static let connectRetried = Self(rawValue: UInt16(ZMQ_EVENT_CONNECT_RETRIED))
    public static let listening = Self(rawValue: UInt16(ZMQ_EVENT_LISTENING))
    public static let bindFailed = Self(rawValue: UInt16(ZMQ_EVENT_BIND_FAILED))
    public static let accepted = Self(rawValue: UInt16(ZMQ_EVENT_ACCEPTED))
    public static let acceptFailed = Self(rawValue: UInt16(ZMQ_EVENT_ACCEPT_FAILED))
    public static let closed = Self(rawValue: UInt16(ZMQ_EVENT_CLOSED))
    public static let closeFailed = Self(rawValue: UInt16(ZMQ_EVENT_CLOSE_FAILED))
    /// A connection was lost (peer gone, heartbeat timeout, oversized message, …).
    public static let disconnected = Self(rawValue: UInt16(ZMQ_EVENT_DISCONNECTED))
    public static let monitorStopped = Self(rawValue: UInt16(ZMQ_EVENT_MONITOR_STOPPED))
    /// Handshake failed for a system reason; the event value is an errno.
    public static let handshakeFailedNoDetail = Self(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
    /// ZMTP (and CURVE/ZAP) handshake completed.
    public static let handshakeSucceeded = Self(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
    /// Handshake failed on a protocol error (e.g. wrong server key); value `ZMQ_PROTOCOL_ERROR_*`.
    public static let handshakeFailedProtocol = Self(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
    /// The ZAP handler refused the peer; the event value is the ZAP status (400, …).
    public static let handshakeFailedAuth = Self(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))

    /// Every event.
    public static let all = Self(rawValue: UInt16(truncatingIfNeeded: ZMQ_EVENT_ALL))
    /// The events a sweep shell usually cares about: connection up/down and handshake results.
    public static let lifecycle: Self = [
        .connected, .accepted, .disconnected, .handshakeSucceeded,
        .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth,
    ]
}

/// One event reported by a ``SocketMonitor``.
public struct SocketEvent: Sendable, Equatable, CustomStringConvertible {
    /// Exactly one kind bit.
    public var kind: SocketEventKinds
    /// The event's value: an errno, a ZAP status code, a protocol error or a file descriptor,
    /// depending on `kind` (see `zmq_socket_monitor(3)`).
    public var value: UInt32
    /// The endpoint the event concerns (for accepted connections, the bound endpoint).
    public var endpoint: String

    public var description: String { "SocketEvent(0x\(String(kind.rawValue, radix: 16)), value: \(value), \(endpoint))" }
}

/// Transport events of one socket: connections, disconnections and handshake results.
///
/// Uses `zmq_socket_monitor`: libzmq publishes events on a private `inproc://` PAIR endpoint
/// and this object reads them. Belongs to the thread that owns the monitored socket; put
/// ``socket`` into that thread's ``Poller`` to wait on events and messages together.
/// A worker uses it to notice ``SocketEventKinds/handshakeFailedAuth`` (refused by the
/// coordinator's allow-list) and the coordinator to notice ``SocketEventKinds/disconnected``.
public final class SocketMonitor {
    private static let counter = Atomic<Int>(0)

    /// The PAIR socket receiving events; register it in a ``Poller`` (readable).
    public let socket: ZMQSocket
    /// The private endpoint libzmq publishes on.
    public let endpoint: String
    private weak var target: ZMQSocket?

    /// Starts monitoring `target` for `events`.
    /// - Throws: ``ZMQError`` if libzmq cannot start the monitor.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public init(_ target: ZMQSocket, events: SocketEventKinds = .lifecycle) throws(ZMQError) {
        let number = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        endpoint = "inproc://circuitsweep.monitor.\(number)"
        let handle = try target.openHandle("zmq_socket_monitor", endpoint: endpoint)
        let endpoint = self.endpoint
        try Funnel.call("zmq_socket_monitor", endpoint: endpoint) {
            zmq_socket_monitor(handle, endpoint, Int32(events.rawValue))
        }
        do {
            socket = try ZMQSocket(context: target.context, type: .pair)
            try socket.connect(endpoint)
        } catch {
            _ = zmq_socket_monitor(handle, nil, 0)
            throw error
        }
        self.target = target
    }

    deinit {
        stop()
    }

    /// Stops monitoring and closes the event socket. Idempotent.
    public func stop() {
        if let target, let handle = try? target.openHandle("zmq_socket_monitor") {
            _ = zmq_socket_monitor(handle, nil, 0)
        }
        target = nil
        try? socket.close()
    }

    /// The next event, or `nil` if none arrives within `timeout` (`nil` = wait forever).
    /// - Throws: ``ZMQError``; malformed event frames throw `EPROTO`-style `EINVAL` errors.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func nextEvent(timeout: Duration?) throws(ZMQError) -> SocketEvent? {
        guard let frames = try socket.receive(timeout: timeout) else { return nil }
        // Frame 1: uint16 event + uint32 value in host byte order; frame 2: endpoint text.
        guard frames.count == 2, frames[0].count == 6 else {
            throw Funnel.invalid("zmq_socket_monitor: unexpected event framing (\(frames.count) frames)", endpoint: endpoint)
        }
        let header = [UInt8](frames[0])
        let kind = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt16.self) }
        let value = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
        return SocketEvent(kind: SocketEventKinds(rawValue: kind), value: value,
                           endpoint: String(decoding: frames[1], as: UTF8.self))
    }

    /// Reads events until one of `kinds` arrives or `timeout` passes; other events are
    /// discarded.
    /// - Returns: the matching event, or `nil` on timeout.
    @available(*, noasync, message: "libzmq calls block; use a dedicated thread")
    public func waitForEvent(_ kinds: SocketEventKinds, timeout: Duration) throws(ZMQError) -> SocketEvent? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, let event = try nextEvent(timeout: remaining) else { return nil }
            if !event.kind.isDisjoint(with: kinds) { return event }
        }
    }
}

/// A monitor belongs to the thread that owns the monitored socket.
@available(*, unavailable, message: "a SocketMonitor belongs to the thread that owns its socket")
extension SocketMonitor: Sendable {}
