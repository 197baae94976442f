import Foundation
import Sweep

/// Produces a task's dataset bytes. Called once per task at coordinator start; the bytes'
/// SHA-256 becomes part of every unit id of that task and workers fetch them by hash.
public typealias DatasetProvider = @Sendable (TaskSpec) throws -> [UInt8]

/// How committed result files are made durable before the journal records them done.
public enum ResultDurability: String, Sendable, CaseIterable {
    /// fsync each file and its folder as it is committed (slow on spinning or virtual disks).
    case fsyncEachFile = "fsync-each"
    /// Group commit: write and rename the tick's files, then one `sync(2)`, then the
    /// journal transaction.
    case syncPerTick = "sync-per-tick"
    /// Rename only. A process crash loses nothing (the page cache survives); after a power
    /// loss the start-up re-verification re-queues any file that did not reach the disk.
    case verifyOnRestart = "verify-on-restart"
}

/// How a coordinator runs.
public struct CoordinatorConfiguration: Sendable {
    public var spec: SweepSpec
    /// The results folder (absolute). The journal lives at `<results>/journal.sqlite`.
    public var resultsDirectory: URL
    /// ZeroMQ endpoint to bind, e.g. `tcp://127.0.0.1:5555`.
    public var bind: String
    /// Stop once every unit is done or quarantined (after telling the workers).
    public var exitWhenDone: Bool
    /// Re-hash every done result on start (re-queues missing or corrupt files).
    public var verifyResultsOnStart: Bool
    /// The `Results` schema version results are written with (part of the unit id).
    public var resultSchemaVersion: Int
    /// Dataset bytes per task. The default encodes the task spec as canonical JSON: the
    /// worker's analysis then generates the examples itself (deterministic from name, size, seed).
    public var datasets: DatasetProvider
    /// Longest wait in one poll; also the group-commit period under load.
    public var pollInterval: Duration
    /// Largest number of messages handled before the tick's journal transaction is written.
    public var maxMessagesPerTick: Int
    public var limits: WireLimits
    public var durability: ResultDurability
    /// A group commit with at least this many small shipped results appends them to a result
    /// pack instead of one file each (their own files follow when idle; schemas/result-packs.md);
    /// 0 never packs.
    public var packThreshold: Int
    /// How often the running coordinator looks for units `circuitsweep retry` re-queued.
    public var retryPollInterval: Duration

    public init(spec: SweepSpec, resultsDirectory: URL, bind: String, exitWhenDone: Bool = true,
                verifyResultsOnStart: Bool = true, resultSchemaVersion: Int = 1,
                datasets: @escaping DatasetProvider = CoordinatorConfiguration.taskSpecDataset,
                pollInterval: Duration = .milliseconds(50), maxMessagesPerTick: Int = 4096, limits: WireLimits = .standard,
                durability: ResultDurability = .syncPerTick, retryPollInterval: Duration = .milliseconds(250),
                packThreshold: Int = 8) {
        self.durability = durability
        self.packThreshold = packThreshold
        self.retryPollInterval = retryPollInterval
        self.spec = spec
        self.resultsDirectory = resultsDirectory
        self.bind = bind
        self.exitWhenDone = exitWhenDone
        self.verifyResultsOnStart = verifyResultsOnStart
        self.resultSchemaVersion = resultSchemaVersion
        self.datasets = datasets
        self.pollInterval = pollInterval
        self.maxMessagesPerTick = maxMessagesPerTick
        self.limits = limits
    }

    /// `{"name":…,"seed":…,"size":…}`: the task spec as the dataset descriptor.
    public static let taskSpecDataset: DatasetProvider = { task in
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(task))
    }

    public var journalPath: String { resultsDirectory.appendingPathComponent("journal.sqlite").path }
}

/// Whether an endpoint only listens on the loopback interface (or inproc/ipc).
public func isLoopbackEndpoint(_ endpoint: String) -> Bool {
    if endpoint.hasPrefix("inproc://") || endpoint.hasPrefix("ipc://") { return true }
    guard endpoint.hasPrefix("tcp://") else { return false }
    let rest = endpoint.dropFirst("tcp://".count)
    let host: Substring
    if rest.hasPrefix("[") {
        host = rest.dropFirst().prefix { $0 != "]" }
    } else {
        host = rest.prefix { $0 != ":" }
    }
    return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
}
