import Foundation
import Sweep
import Synchronization

/// Set by the worker when a unit should stop early (another copy won, or the grace period of
/// a SIGTERM ran out). Analyses check it between expensive steps.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// Thrown by an analysis that noticed ``CancellationFlag/isCancelled``.
public struct UnitCancelled: Error {
    public init() {}
}

/// Everything one unit's analysis needs.
public struct UnitWork: Sendable {
    /// The coordinator's assignment: unit id, model (name and location), revision, task,
    /// dataset hash, analysis parameters, result path and schema version.
    public var assignment: WireMessage.Assign
    /// The task dataset, fetched from the coordinator by hash and verified (SHA-256 equals
    /// `assignment.datasetHash`). With the default coordinator provider this is the task spec
    /// as JSON (`{"name","seed","size"}`) and the analysis generates the examples itself.
    public var dataset: [UInt8]
    /// The checkpoint folder on this machine (resolved from the model location, the revision
    /// and `--model-root`), or `nil` when the analysis does not need weights.
    public var checkpointDirectory: URL?
    /// Where the analysis MUST write the result file. The worker hashes it and ships it (or
    /// stages it in the shared results folder) afterwards.
    public var output: URL
    /// Kernel threads the analysis may use.
    public var threads: Int
    /// Software version to record in the result.
    public var software: String
    public var host: String
    public let cancellation: CancellationFlag
}

/// The plug-in point for analyses. The worker calls it on its single compute thread (never
/// on Swift's cooperative pool, never concurrently), so an implementation may keep the
/// loaded checkpoint between units: the worker asks the coordinator for units of the
/// checkpoint it holds first (checkpoint affinity).
///
/// Register implementations with ``WorkerConfiguration/analyses``; the first one whose
/// ``handles(_:)`` is true runs a unit.
public protocol UnitAnalysis: AnyObject {
    /// Whether this analysis computes units of `method`.
    func handles(_ method: AttributionMethod) -> Bool

    /// Whether units of `method` need the checkpoint folder (``UnitWork/checkpointDirectory``).
    func needsCheckpoint(_ method: AttributionMethod) -> Bool

    /// Computes one unit and writes its result file to `work.output`.
    /// - Throws: any error; the worker reports it as the unit's failure (retried with backoff,
    ///   quarantined after `retry.max_attempts`). Throw ``UnitCancelled`` after cancellation.
    func run(_ work: UnitWork) throws

    /// Frees the held checkpoint (the worker calls it before exiting).
    func releaseCheckpoint()
}

extension UnitAnalysis {
    public func releaseCheckpoint() {}
}
