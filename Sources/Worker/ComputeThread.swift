import Checksum
import Foundation
import Logging
import Sweep
import Synchronization
import ZeroMQ

/// One unit queued for computing.
struct ComputeJob: Sendable {
    var assignment: WireMessage.Assign
    var dataset: [UInt8]
    let cancellation = CancellationFlag()
}

/// What the compute thread reports back.
enum ComputeOutcome: Sendable {
    /// `bytes`: a small shipped result is kept in memory and its spool `file` already deleted.
    case finished(WireMessage.Assign, file: URL, bytes: [UInt8]?, sha256: String, size: Int)
    case failed(WireMessage.Assign, error: String)
    case cancelled(WireMessage.Assign)
}

/// The worker's compute thread: runs queued units one at a time through the analyses, so
/// BLAS-heavy work never delays the network thread's heartbeats.
final class ComputeThread: @unchecked Sendable {
    // @unchecked: `queue`, `current` and `closed` are only touched under `condition`;
    // `analyses` only from the compute thread; the rest is immutable.
    private let condition = NSCondition()
    private var queue: [ComputeJob] = []
    private var current: ComputeJob?
    private var closed = false
    private let outcomes = Mutex<[ComputeOutcome]>([])
    private let analyses: [any UnitAnalysis]
    private let settings: Settings
    private let logger: Logger
    private let exited = Atomic<Bool>(false)
    /// Woken when an outcome is ready, so the network loop ships it at once instead of at
    /// its next poll timeout.
    private let wakeup = WakePipe()

    struct Settings: Sendable {
        var spool: URL
        var sharedResults: URL?
        var modelRoot: URL?
        var threads: Int
        var software: String
        var host: String
    }

    init(analyses: [any UnitAnalysis], settings: Settings, logger: Logger) {
        self.analyses = analyses
        self.settings = settings
        self.logger = logger
    }

    /// For the network loop's poller (`nil`: poll with a timeout).
    var wakeDescriptor: Int32? { wakeup?.descriptor }

    /// Empties the wake-up pipe; call before ``takeOutcomes()``.
    func drainWakeups() { wakeup?.drain() }

    func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "circuitsweep-compute"
        thread.stackSize = 16 << 20
        thread.start()
    }

    var hasExited: Bool { exited.load(ordering: .acquiring) }

    func enqueue(_ job: ComputeJob) {
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Leases queued or running.
    func leases() -> [LeaseID] {
        condition.lock()
        defer { condition.unlock() }
        return queue.map(\.assignment.lease) + (current.map { [$0.assignment.lease] } ?? [])
    }

    var isBusy: Bool {
        condition.lock()
        defer { condition.unlock() }
        return current != nil || !queue.isEmpty
    }

    /// Removes a queued job or cancels the running one.
    func cancel(_ lease: LeaseID) {
        condition.lock()
        defer { condition.unlock() }
        queue.removeAll { $0.assignment.lease == lease }
        if current?.assignment.lease == lease { current?.cancellation.cancel() }
    }

    /// Takes back every job not started yet.
    func drainQueued() -> [ComputeJob] {
        condition.lock()
        defer { condition.unlock() }
        let jobs = queue
        queue.removeAll()
        return jobs
    }

    /// The running job's assignment, after asking it to stop.
    func cancelCurrent() -> WireMessage.Assign? {
        condition.lock()
        defer { condition.unlock() }
        current?.cancellation.cancel()
        return current?.assignment
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    func takeOutcomes() -> [ComputeOutcome] {
        outcomes.withLock { o in
            defer { o.removeAll() }
            return o
        }
    }

    private func loop() {
        defer {
            for a in analyses { a.releaseCheckpoint() }
            exited.store(true, ordering: .releasing)
        }
        while true {
            condition.lock()
            while queue.isEmpty, !closed { condition.wait() }
            if closed, queue.isEmpty {
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            current = job
            condition.unlock()
            let outcome = compute(job)
            condition.lock()
            current = nil
            condition.unlock()
            let wasEmpty = outcomes.withLock { o in
                defer { o.append(outcome) }
                return o.isEmpty
            }
            if wasEmpty { wakeup?.wake() }
        }
    }

    private func compute(_ job: ComputeJob) -> ComputeOutcome {
        let a = job.assignment
        guard let analysis = analyses.first(where: { $0.handles(a.analysis.method) }) else {
            return .failed(a, error: "this worker has no analysis for method '\(a.analysis.method.rawValue)'")
        }
        let output: URL
        if let shared = settings.sharedResults {
            let final = shared.appendingPathComponent(a.resultPath)
            output = final.deletingLastPathComponent().appendingPathComponent(".\(final.lastPathComponent).lease-\(a.lease.value).tmp")
        } else {
            // (`URL.appendingPathComponent` would stat the spool for every unit.)
            output = URL(fileURLWithPath: "\(settings.spool.path)/\(a.lease.value).result", isDirectory: false)
        }
        do {
            if settings.sharedResults != nil {  // the spool exists since the worker started
                try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
            }
            var checkpoint: URL?
            if analysis.needsCheckpoint(a.analysis.method) {
                checkpoint = try CheckpointLocator.directory(for: a.model, revision: a.revision, modelRoot: settings.modelRoot)
            }
            let work = UnitWork(assignment: a, dataset: job.dataset, checkpointDirectory: checkpoint, output: output,
                                threads: settings.threads, software: settings.software, host: settings.host,
                                cancellation: job.cancellation)
            try analysis.run(work)
            if job.cancellation.isCancelled {
                try? FileManager.default.removeItem(at: output)
                return .cancelled(a)
            }
            // Read once: hash it, and keep a small result in memory for shipping (and re-sending).
            let data = try Data(contentsOf: output, options: settings.sharedResults == nil ? [] : .alwaysMapped)
            let size = data.count
            let sha = SHA256Hex.of(data)
            var bytes: [UInt8]?
            if settings.sharedResults == nil, size <= Self.inMemoryResultBytes {
                bytes = [UInt8](data)
                unlink(output.path)
            }
            var file = output
            if let shared = settings.sharedResults {
                // Stage under the name the coordinator promotes from (first commit wins).
                let staging = shared.appendingPathComponent(ResultStaging.path(for: a.resultPath, lease: a.lease))
                guard rename(output.path, staging.path) == 0 else {
                    throw CheckpointLocationError(model: a.model.name, revision: a.revision.name,
                                                  detail: "cannot stage \(staging.path): \(String(cString: strerror(errno)))")
                }
                file = staging
            }
            return .finished(a, file: file, bytes: bytes, sha256: sha, size: size)
        } catch is UnitCancelled {
            try? FileManager.default.removeItem(at: output)
            return .cancelled(a)
        } catch {
            try? FileManager.default.removeItem(at: output)
            logger.info("unit failed", metadata: ["unit.id": "\(a.unit)", "error": "\(error)"])
            return .failed(a, error: "\(error)")
        }
    }

    /// Results up to this size wait for their acknowledgement in memory instead of the spool.
    static let inMemoryResultBytes = 1 << 20
}

