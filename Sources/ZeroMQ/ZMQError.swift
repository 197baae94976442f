import CZeroMQ

/// A failed libzmq call: the errno, libzmq's message for it, and what we were doing.
///
/// Every libzmq failure in this module surfaces as a `ZMQError`; the funnel below is the only
/// place that reads `zmq_errno()`. `EINTR` never surfaces (the call is retried) and `EAGAIN`
/// from a non-blocking or timed operation becomes `nil`/`false` at the API, not an error.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errno value reported by `zmq_errno()`.
    public let code: Int32
    /// `zmq_strerror(code)`.
    public let message: String
    /// The operation that failed, e.g. `"zmq_bind"` or `"zmq_setsockopt(ZMQ_CURVE_SERVER)"`.
    public let operation: String
    /// The endpoint involved, when there is one.
    public let endpoint: String?

    /// Builds an error for `code`, looking up its text with `zmq_strerror`.
    public init(code: Int32, operation: String, endpoint: String? = nil) {
        self.code = code
        self.message = String(cString: zmq_strerror(code))
        self.operation = operation
        self.endpoint = endpoint
    }

    public var description: String {
        var text = "\(operation) failed: \(message) (errno \(code))"
        if let endpoint { text += " on \(endpoint)" }
        return text
    }

    /// True when the context was terminated (`ETERM`): the owner should close the socket and stop.
    public var isContextTerminated: Bool { code == czmq_ETERM() }
    /// True when a ROUTER with `ZMQ_ROUTER_MANDATORY` was asked to send to an unknown peer.
    public var isHostUnreachable: Bool { code == czmq_EHOSTUNREACH() }
    /// True when an address was already bound (`EADDRINUSE`).
    public var isAddressInUse: Bool { code == czmq_EADDRINUSE() }
    /// True when the socket had already been closed (`ENOTSOCK`).
    public var isClosedSocket: Bool { code == czmq_ENOTSOCK() }
}

/// The error funnel: runs libzmq calls, retries `EINTR`, maps `EAGAIN` and builds `ZMQError`s.
///
/// Mirrors apple/swift-system's `Syscalls.swift` idea: one place that knows libzmq's
/// "return -1 and set errno" convention.
enum Funnel {
    /// Runs `body` until it does not fail with `EINTR`; throws on any other failure.
    /// - Returns: the non-negative return value of `body`.
    @discardableResult
    static func call(
        _ operation: @autoclosure () -> String, endpoint: String? = nil, _ body: () -> Int32
    ) throws(ZMQError) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = czmq_errno()
            if code == czmq_EINTR() { continue }
            throw ZMQError(code: code, operation: operation(), endpoint: endpoint)
        }
    }

    /// Like ``call(_:endpoint:_:)`` but returns `nil` when the call fails with `EAGAIN`
    /// (the non-blocking or timed operation could not complete now).
    static func callUnlessAgain(
        _ operation: @autoclosure () -> String, endpoint: String? = nil, _ body: () -> Int32
    ) throws(ZMQError) -> Int32? {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = czmq_errno()
            if code == czmq_EINTR() { continue }
            if code == czmq_EAGAIN() { return nil }
            throw ZMQError(code: code, operation: operation(), endpoint: endpoint)
        }
    }

    /// Runs `body` once; returns `nil` on `EINTR` so the caller can retry with a recomputed
    /// timeout (used by `zmq_poll`), throws on any other failure.
    static func callUnlessInterrupted(
        _ operation: @autoclosure () -> String, endpoint: String? = nil, _ body: () -> Int32
    ) throws(ZMQError) -> Int32? {
        let result = body()
        if result >= 0 { return result }
        let code = czmq_errno()
        if code == czmq_EINTR() { return nil }
        throw ZMQError(code: code, operation: operation(), endpoint: endpoint)
    }

    /// Runs a call that returns a pointer (`zmq_ctx_new`, `zmq_socket`), throwing on `NULL`.
    static func pointer<T>(_ operation: @autoclosure () -> String, _ body: () -> T?) throws(ZMQError) -> T {
        while true {
            if let value = body() { return value }
            let code = czmq_errno()
            if code == czmq_EINTR() { continue }
            throw ZMQError(code: code, operation: operation())
        }
    }

    /// The error thrown when a closed socket is used.
    static func closed(_ operation: String, endpoint: String? = nil) -> ZMQError {
        ZMQError(code: czmq_ENOTSOCK(), operation: operation, endpoint: endpoint)
    }

    /// The error thrown for an argument libzmq would reject (`EINVAL`), raised before the call.
    static func invalid(_ operation: String, endpoint: String? = nil) -> ZMQError {
        ZMQError(code: czmq_EINVAL(), operation: operation, endpoint: endpoint)
    }
}

extension Duration {
    /// This duration in whole milliseconds as libzmq takes it (rounded up so a tiny positive
    /// timeout never becomes "non-blocking"), clamped to `Int32`.
    var zmqMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }
}

/// Converts an optional timeout (`nil` = wait forever) to libzmq's convention (`-1` = forever).
func zmqTimeout(_ timeout: Duration?) -> Int32 {
    guard let timeout else { return -1 }
    return timeout.zmqMilliseconds
}
