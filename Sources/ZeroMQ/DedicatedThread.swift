import Foundation

/// Runs blocking libzmq work on a fresh OS thread, off Swift's cooperative pool.
///
/// ZeroMQ calls block (that is what timeouts are for), and blocking a cooperative-pool
/// thread starves every other task on a 2-core machine. Create sockets *inside* `body` so
/// each socket lives and dies on the one thread that uses it.
public enum DedicatedThread {
    /// Starts a new `Thread` named `name`, runs `body` on it and resumes the caller with its
    /// result. The thread ends when `body` returns.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw.
    public static func run<Result: Sendable>(
        name: String, _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Swift.Result { try body() })
            }
            thread.name = name
            thread.start()
        }
    }
}
