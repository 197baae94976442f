import Checksum
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Sweep
import ZeroMQ

/// A coordinator failure that stops it: which part and why.
public struct CoordinatorError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What `run()` reports when it returns.
public struct CoordinatorSummary: Sendable {
    public var units: Int
    public var done: Int
    public var quarantined: Int
    public var stats: SchedulerStats
    public var droppedMessages: Int
    public var finished: Bool
    /// Journal transactions written by the loop (one per tick with changes: group commit).
    public var journalTransactions: Int
    /// Seconds from the first assignment sent to the end of the loop (`nil`: nothing assigned).
    public var activeSeconds: Double?
    /// Seconds from the first assignment to the end of ``Coordinator/run(context:options:onBound:)``,
    /// including writing packed results to their own files.
    public var totalSeconds: Double?
    /// Results that went through a pack (one file per group commit) before their own file.
    public var packedResults: Int
    /// Packed results still waiting for their own files when the coordinator stopped (the
    /// next start writes them).
    public var resultsLeftInPacks: Int
}

/// The coordinator shell: a ZeroMQ ROUTER loop on the calling thread that decodes messages,
/// feeds them to the ``Scheduler``, journals the resulting state changes once per tick
/// (group commit), commits result files, and only then sends the tick's replies.
///
/// Not `Sendable`: one thread owns it, its socket and its scheduler. Stop it with a ``StopToken``.
public final class Coordinator {
    let configuration: CoordinatorConfiguration
    let logger: Logger
    let stopToken: StopToken
    let journal: Journal
    let store: ResultStore
    let codec: WireCodec
    var scheduler: Scheduler
    /// Planned units (everything an `assign` needs), compact: one ``UnitKey`` per
    /// (model, task, analysis) and per unit only its revision and result path. See ``planned(_:)``.
    var plannedTemplates: [UnitKey] = []
    var plannedSlots: [PlannedSlot] = []
    var plannedIndex: [UnitID: Int] = [:]
    var models: [String: ModelSpec] = [:]
    var datasets: [String: [UInt8]] = [:]
    var assembler: ChunkAssembler
    let clockStart = ContinuousClock.now
    var timerAt: Double?
    var socket: ZMQSocket?
    /// Routing ids of workers (the DEALER sets its routing id to its worker id).
    var sharedResults: Set<WorkerID> = []
    var knownWorkers: Set<WorkerID> = []
    /// Under CURVE, the Z85 public key that first spoke for each worker id (see ``admit(_:worker:)``);
    /// journaled, so the binding outlives a coordinator restart.
    var workerKeys: [WorkerID: String] = [:]
    var pendingCommits: [LeaseID: PendingCommit] = [:]
    /// Result files of this tick, written by the group commit.
    var fileWrites: [GroupCommitter.FileWrite] = []
    /// The last retry request applied (``pollRetryRequests()``), and when the table was last read.
    var lastRetryRequest: Int64 = 0
    var retryPolledAt = -Double.infinity

    // Per tick.
    var changes: [JournalChange] = []
    var outbox: [(WorkerID, WireMessage)] = []
    /// Messages of the batch the committer is journaling (sent when it is committed).
    var inFlight: [(WorkerID, WireMessage)] = []
    var committer: GroupCommitter?
    var finished = false
    var dropped = 0
    var dropCounts: [String: Int] = [:]
    var journalTransactions = 0
    var firstAssignmentAt: ContinuousClock.Instant?
    /// Packed results verified at start-up whose own files are still to be written.
    var packedAtStart: [UnpackQueue.Entry] = []

    /// Opens the journal, plans the sweep (re-verifying results), and builds the scheduler.
    @available(*, noasync)
    public init(configuration: CoordinatorConfiguration, logger: Logger, stopToken: StopToken = StopToken()) throws {
        self.configuration = configuration
        self.logger = logger
        self.stopToken = stopToken
        self.codec = WireCodec(limits: configuration.limits)
        self.store = ResultStore(root: configuration.resultsDirectory)
        self.assembler = ChunkAssembler(maxResultBytes: configuration.limits.maxResultBytes)
        do {
            try FileManager.default.createDirectory(at: configuration.resultsDirectory, withIntermediateDirectories: true)
        } catch {
            throw CoordinatorError("cannot create results folder \(configuration.resultsDirectory.path): \(error)")
        }
        let started = ContinuousClock.now
        journal = try Journal(path: configuration.journalPath)
        let wall = Date().timeIntervalSince1970
        try journal.recoverInterruptedLeases(at: wall)
        for (worker, key) in try journal.workerKeys() { workerKeys[WorkerID(worker)] = key }

        var hashes: [String: String] = [:]
        for task in configuration.spec.tasks {
            let bytes: [UInt8]
            do {
                bytes = try configuration.datasets(task)
            } catch {
                throw CoordinatorError("generating the dataset of task '\(task.name)' failed: \(error)")
            }
            let hash = SHA256Hex.of(bytes)
            hashes[task.name] = hash
            datasets[hash] = bytes
        }
        let rows = try journal.units()
        let store = self.store
        let verify = configuration.verifyResultsOnStart
        let plan = Planner.plan(configuration.spec, datasetHash: { hashes[$0.name] ?? $0.specHash },
                                resultSchemaVersion: configuration.resultSchemaVersion, journal: rows) { path, sha, packed in
            store.verify(path, sha256: sha, packed: packed, quick: !verify)
        }
        var attempts: [UnitID: Int] = [:]
        attempts.reserveCapacity(rows.count)
        for r in rows { attempts[r.id] = r.attempts }
        try journal.record(plan: plan.filter { unit in
            switch unit.reason {
            case .resultMissing, .resultCorrupt: true
            default: attempts[unit.id] == nil
            }
        }, at: wall)
        var units: [SchedulerUnit] = []
        units.reserveCapacity(plan.count)
        plannedSlots.reserveCapacity(plan.count)
        plannedIndex.reserveCapacity(plan.count)
        var templateIndex: [PlannedTemplateKey: Int] = [:]
        for p in plan {
            let templateKey = PlannedTemplateKey(model: p.key.model, task: p.key.task.name, analysis: p.key.analysis.name)
            var template: Int
            if let t = templateIndex[templateKey], plannedTemplates[t].sameExceptRevision(p.key) {
                template = t
            } else {
                template = plannedTemplates.count
                plannedTemplates.append(p.key)
                templateIndex[templateKey] = template
            }
            if plannedIndex[p.id] == nil {
                plannedIndex[p.id] = plannedSlots.count
                plannedSlots.append(PlannedSlot(template: template, revision: p.key.revision, resultPath: p.resultPath))
            }
            let state: UnitState
            switch p.reason {
            case .done: state = .done
            case .quarantined: state = .quarantined
            default: state = .pending
            }
            units.append(SchedulerUnit(id: p.id, checkpoint: p.key.checkpoint, priority: p.priority,
                                       attempts: attempts[p.id] ?? 0, state: state))
        }
        for m in configuration.spec.models { models[m.name] = m }
        scheduler = Scheduler(units: units, configuration: SchedulerConfiguration(configuration.spec),
                              firstLease: try journal.nextLeaseID())
        var reasons: [String: Int] = [:]
        for p in plan {
            let label: String
            switch p.reason {
            case .new: label = "new"
            case .parametersChanged: label = "parameters-changed"
            case .failedBefore: label = "failed-before"
            case .resultMissing: label = "result-missing"
            case .resultCorrupt: label = "result-corrupt"
            case .done: label = "done"
            case .quarantined: label = "quarantined"
            }
            reasons[label, default: 0] += 1
        }
        keepPacks(of: rows, plan: plan)
        logger.info("coordinator planned", metadata: [
            "units.total": "\(plan.count)", "units.remaining": "\(scheduler.remainingUnits)",
            "plan.reasons": "\(reasons.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
            "startup.seconds": "\((ContinuousClock.now - started).inSeconds)",
        ])
        #if canImport(Glibc)
        // Planning freed the journal rows and the full plan: give those pages back to the OS.
        // (glibc's malloc_trim is not in the Glibc module map; look it up.)
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            typealias MallocTrim = @convention(c) (Int) -> Int32
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        }
        #endif
    }

    /// A planned unit's key and result path.
    func planned(_ id: UnitID) -> (key: UnitKey, resultPath: String)? {
        guard let i = plannedIndex[id] else { return nil }
        let slot = plannedSlots[i]
        var key = plannedTemplates[slot.template]
        key.revision = slot.revision
        return (key, slot.resultPath)
    }

    /// Seconds since the coordinator started (the scheduler's clock).
    var now: Double { (ContinuousClock.now - clockStart).inSeconds }
    var wallNow: Double { Date().timeIntervalSince1970 }

    /// Units still to do.
    public var remainingUnits: Int { scheduler.remainingUnits }

    /// Asks `run()` to return after its current tick (thread-safe).
    public func stop() { stopToken.stop() }

    /// Binds and runs until the sweep is finished (with `exitWhenDone`) or the token stops it.
    /// Blocking: call it on a dedicated thread (or the main thread of the CLI).
    @available(*, noasync)
    public func run(context: ZMQContext, options: SocketOptions = SocketOptions(), onBound: ((String) -> Void)? = nil) throws -> CoordinatorSummary {
        var options = options
        options.routerMandatory = true
        options.maxMessageSize = Int64(configuration.limits.maxChunkBytes + configuration.limits.maxHeaderBytes + 4096)
        options.sendHighWaterMark = 0
        options.receiveHighWaterMark = 0
        options.linger = .seconds(2)
        let router = try ZMQSocket(context: context, type: .router, options: options)
        socket = router
        let committer = GroupCommitter(journal: journal, store: store, durability: configuration.durability,
                                       packThreshold: configuration.packThreshold,
                                       logger: logger, waitingResults: packedAtStart)
        packedAtStart = []
        self.committer = committer
        defer {
            // Whatever is still in flight after an error is dropped unsent, as before a crash.
            _ = committer.waitForCompletion()
            committer.close()
            self.committer = nil
            inFlight.removeAll()
            try? router.close()
            socket = nil
        }
        do {
            try router.bind(configuration.bind)
        } catch {
            throw CoordinatorError("cannot bind \(configuration.bind): \(error)")
        }
        let endpoint = (try? router.lastEndpoint()) ?? configuration.bind
        logger.info("coordinator listening", metadata: ["endpoint": "\(endpoint)"])
        onBound?(endpoint)
        var poller = Poller()
        _ = poller.register(router)
        if let wake = committer.wakeDescriptor { poller.register(fileDescriptor: wake) }

        // A sweep with nothing left still tells workers that connect to stop.
        absorb(scheduler.onTick(now: now))
        try flush(wait: true)
        while !stopToken.isStopped, !(finished && configuration.exitWhenDone) {
            var wait = configuration.pollInterval
            if let t = timerAt {
                let untilTimer = Duration.seconds(max(0, t - now))
                if untilTimer < wait { wait = untilTimer }
            }
            if committer.wakeDescriptor == nil, committer.isBusy { wait = min(wait, .milliseconds(1)) }
            _ = try poller.poll(timeout: wait)
            var handled = 0
            while handled < configuration.maxMessagesPerTick, let message = try router.receiveMessage(timeout: .zero) {
                handled += 1
                handle(message)
            }
            if let t = timerAt, t <= now {
                timerAt = nil
                absorb(scheduler.onTick(now: now))
            }
            if now - retryPolledAt >= configuration.retryPollInterval.inSeconds {
                retryPolledAt = now
                try pollRetryRequests()
            }
            try flush()
        }
        try flush(wait: true)
        let activeSeconds = firstAssignmentAt.map { (ContinuousClock.now - $0).inSeconds }
        let leftInPacks = writePackedResults(committer)
        if finished {
            logger.info("sweep finished", metadata: [
                "units.remaining": "\(scheduler.remainingUnits)", "results.packed": "\(committer.packedResults)",
            ])
        }
        let status = try? journal.status(errorLimit: 0)
        return CoordinatorSummary(units: plannedSlots.count, done: status?.counts[.done] ?? 0,
                                  quarantined: status?.counts[.quarantined] ?? 0, stats: scheduler.stats,
                                  droppedMessages: dropped, finished: finished, journalTransactions: journalTransactions,
                                  activeSeconds: activeSeconds,
                                  totalSeconds: firstAssignmentAt.map { (ContinuousClock.now - $0).inSeconds },
                                  packedResults: committer.packedResults, resultsLeftInPacks: leftInPacks)
    }
}


/// One planned unit in ``Coordinator/plannedSlots``.
struct PlannedSlot {
    var template: Int
    var revision: Revision
    var resultPath: String
}

struct PlannedTemplateKey: Hashable {
    var model: String
    var task: String
    var analysis: String
}

extension UnitKey {
    func sameExceptRevision(_ other: UnitKey) -> Bool {
        var o = other
        o.revision = revision
        return o == self
    }
}
