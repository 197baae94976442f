/// A worker's id: chosen by the worker process at start (unique per process), so a restarted
/// worker is a new worker and a reconnecting one keeps its leases.
public struct WorkerID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let value: String

    public init(_ value: String) { self.value = value }
    public var description: String { value }
    public static func < (a: WorkerID, b: WorkerID) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws { value = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// A lease: permission for one worker to compute one unit until it stops heartbeating.
/// Unique for the journal's lifetime (continues across coordinator restarts).
public struct LeaseID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let value: UInt64

    public init(_ value: UInt64) { self.value = value }
    public var description: String { String(value) }
    public static func < (a: LeaseID, b: LeaseID) -> Bool { a.value < b.value }

    public init(from decoder: Decoder) throws { value = try decoder.singleValueContainer().decode(UInt64.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// Scheduler settings, taken from the sweep file.
public struct SchedulerConfiguration: Sendable, Equatable {
    public var lease: LeasePolicy
    public var retry: RetryPolicy
    public var speculation: SpeculationPolicy
    /// A worker silent this long is evicted (default: the lease length).
    public var workerTimeout: Double
    /// Live leases per unit at most (1 + speculative copies).
    public var maxCopies: Int

    public init(lease: LeasePolicy = LeasePolicy(), retry: RetryPolicy = RetryPolicy(),
                speculation: SpeculationPolicy = SpeculationPolicy(), workerTimeout: Double? = nil, maxCopies: Int = 2) {
        self.lease = lease
        self.retry = retry
        self.speculation = speculation
        self.workerTimeout = workerTimeout ?? lease.seconds
        self.maxCopies = max(1, maxCopies)
    }

    public init(_ spec: SweepSpec) {
        self.init(lease: spec.lease, retry: spec.retry, speculation: spec.speculation)
    }
}

/// A unit as the scheduler starts with it (from the journal after planning).
public struct SchedulerUnit: Sendable, Equatable {
    public var id: UnitID
    public var checkpoint: CheckpointKey
    public var priority: Int
    public var attempts: Int
    public var state: UnitState

    public init(id: UnitID, checkpoint: CheckpointKey, priority: Int, attempts: Int = 0, state: UnitState = .pending) {
        self.id = id
        self.checkpoint = checkpoint
        self.priority = priority
        self.attempts = attempts
        self.state = state
    }
}

/// One handed-out unit.
public struct Assignment: Sendable, Equatable {
    public var lease: LeaseID
    public var unit: UnitID
    public var worker: WorkerID
    public var checkpoint: CheckpointKey
    /// 1-based attempt number (failures so far + 1).
    public var attempt: Int
    /// A second copy of a straggling unit.
    public var speculative: Bool
}

/// Why a delivered result is not committed.
public enum DiscardReason: String, Sendable, Equatable {
    /// Another copy committed first.
    case alreadyDone = "already-done"
    /// The unit is not part of this sweep.
    case unknownUnit = "unknown-unit"
}

/// What the shell must do. The coordinator carries these out in order; journal-relevant
/// actions (assign, leaseEnded, requeue, quarantine, commit) are written in the tick's
/// group commit, and messages that promise durability (acks) are sent only after it.
public enum SchedulerAction: Sendable, Equatable {
    /// Send the unit to the worker; journal the lease.
    case assign(Assignment)
    /// The first result of this unit: the shell MUST make the file durable (atomic rename or
    /// in-place verification), journal `done` with the SHA-256, then ack the worker. If that
    /// fails it MUST call ``Scheduler/onCommitFailed(unit:error:now:)``.
    case commit(unit: UnitID, lease: LeaseID, worker: WorkerID, sha256: String)
    /// Ack the worker without committing (it may forget its copy).
    case discard(unit: UnitID, lease: LeaseID, worker: WorkerID, reason: DiscardReason)
    /// Journal how a lease ended.
    case leaseEnded(unit: UnitID, lease: LeaseID, worker: WorkerID, outcome: LeaseOutcome, error: String?)
    /// Journal the unit as pending again; it becomes eligible at `notBefore`.
    case requeue(unit: UnitID, attempts: Int, error: String?, notBefore: Double)
    /// Journal the unit as quarantined; it is not retried until an operator asks.
    case quarantine(unit: UnitID, attempts: Int, error: String)
    /// Tell the worker to stop computing this lease's unit (another copy won).
    case cancel(worker: WorkerID, lease: LeaseID, unit: UnitID)
    /// Forget the worker (journal it gone); its leases have been ended.
    case evictWorker(WorkerID, reason: String)
    /// Call ``Scheduler/onTick(now:)`` no later than this time.
    case armTimer(at: Double)
    /// Every unit is done or quarantined: tell the workers and stop (emitted again if a
    /// retry re-opened the sweep and it finished once more).
    case shutDown
}

/// Running counts, for logs, status and the benchmark.
public struct SchedulerStats: Sendable, Equatable {
    public var assigned = 0
    public var speculative = 0
    public var committed = 0
    public var duplicates = 0
    public var failures = 0
    public var expired = 0
    public var released = 0
    public var quarantined = 0
    public var evictions = 0
    /// Quarantined units put back in the queue by ``Scheduler/onRetry(_:now:)``.
    public var retried = 0
}
