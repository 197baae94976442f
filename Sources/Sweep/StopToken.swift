import Synchronization

/// Asks a running coordinator or worker loop to stop; safe from any thread (and, being a
/// lock-free atomic, from a signal handler).
public final class StopToken: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .relaxed) }
    public var isStopped: Bool { flag.load(ordering: .relaxed) }
}

/// Where a shared-results worker stages a lease's copy before the coordinator promotes the
/// first committed one to the final name: `<path>.lease-<id>.part`.
public enum ResultStaging {
    public static func path(for relativePath: String, lease: LeaseID) -> String { "\(relativePath).lease-\(lease.value).part" }
}

extension Duration {
    /// The duration in seconds as a `Double` (the scheduler's time unit).
    public var inSeconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
