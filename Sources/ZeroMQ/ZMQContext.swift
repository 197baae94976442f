import CZeroMQ

/// A libzmq context: the I/O threads and the `inproc://` namespace shared by its sockets.
///
/// A context is thread-safe (libzmq guarantees this), so it is `Sendable`: create sockets from
/// it on whichever thread will own them. Every ``ZMQSocket`` keeps its context alive, so the
/// context is terminated (`zmq_ctx_term`) only after the last socket made from it is closed
/// and released; termination therefore never blocks on a socket this module created.
///
/// Mirrors `zmq_ctx_new`, `zmq_ctx_set`, `zmq_ctx_shutdown`, `zmq_ctx_term`.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked Sendable: libzmq documents contexts as thread-safe; `handle` is immutable and
    // only passed to libzmq's thread-safe context functions.
    let handle: UnsafeMutableRawPointer

    /// Creates a context.
    /// - Parameters:
    ///   - ioThreads: libzmq I/O threads (`ZMQ_IO_THREADS`); 1 is plenty below ~1 GB/s.
    ///   - maxSockets: `ZMQ_MAX_SOCKETS`, or `nil` for libzmq's default (1023).
    /// - Throws: ``ZMQError`` if libzmq cannot create or configure the context.
    public init(ioThreads: Int32 = 1, maxSockets: Int32? = nil) throws(ZMQError) {
        let handle = try Funnel.pointer("zmq_ctx_new") { zmq_ctx_new() }
        do {
            try Funnel.call("zmq_ctx_set(ZMQ_IO_THREADS)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) }
            if let maxSockets {
                try Funnel.call("zmq_ctx_set(ZMQ_MAX_SOCKETS)") { zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, maxSockets) }
            }
        } catch {
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
    }

    /// Makes every blocking call on this context's sockets (in any thread) fail with `ETERM`
    /// (see ``ZMQError/isContextTerminated``) and refuses new sockets, without freeing anything.
    ///
    /// Use it to unblock owner threads at shutdown; they MUST then close their sockets.
    /// Mirrors `zmq_ctx_shutdown`.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        // All sockets hold a strong reference to the context, so none is open here and
        // zmq_ctx_term cannot block on lingering messages.
        while zmq_ctx_term(handle) != 0 && czmq_errno() == czmq_EINTR() {}
    }
}
