import Foundation
import Logging
import Sweep
import ZeroMQ

/// Runs the coordinator's group commits on a thread of their own — the tick's result files
/// (temporary file and atomic rename each, or one result pack for many small results), their
/// `sync(2)` (with ``ResultDurability/syncPerTick``), then the tick's journal transaction —
/// so that the loop keeps receiving and handling messages meanwhile (pipelining: one batch
/// commits while the next one is gathered).
///
/// One batch at a time, in submission order. The loop MUST send a batch's messages only
/// after ``takeCompleted()`` returned it: nothing reaches a worker before the state change
/// behind it is journaled.
///
/// When no batch waits, the thread writes packed results to their own files (``UnpackQueue``),
/// syncs them, journals them unpacked and deletes each pack once nothing in it is needed.
final class GroupCommitter: @unchecked Sendable {
    // @unchecked: `pending`, `completed`, `busy`, `closed`, `waiting` and `packed` are only
    // touched under `condition`; `unpacks` and `unpackPausedUntil` only on the commit thread; `journal`,
    // `store`, `logger` and `wakeup` are Sendable.
    struct Batch: Sendable {
        var files: [FileWrite]
        var changes: [JournalChange]
    }

    /// A verified result to store at its final path.
    struct FileWrite: Sendable {
        var unit: UnitID
        var lease: LeaseID
        var resultPath: String
        var sha256: String
        var result: PendingCommit
    }

    /// A result that could not be stored; its `unitDone` change was left out of the transaction.
    struct FileFailure: Sendable {
        var unit: UnitID
        var lease: LeaseID
        var error: String
    }

    /// Results up to this size may go into a pack.
    static let packableBytes = 256 << 10
    /// Packed results written to their files per step between two checks for a new batch.
    static let unpackStep = 256
    /// Unpacking waits until no batch came for this long (file creation competes with commits)…
    static let unpackIdleDelay = Duration.milliseconds(20)
    /// …unless this many results wait: then one step follows every batch.
    static let maxWaitingResults = 50_000

    private let condition = NSCondition()
    private var pending: Batch?
    private var completed: Result<[FileFailure], JournalError>?
    private var closed = false
    private var busy = false
    /// Packed results still waiting for their files (mirrors `unpacks.count` for other threads).
    private var waiting = 0
    private var packed = 0
    private var unpacks = UnpackQueue()
    private var unpackPausedUntil: ContinuousClock.Instant?
    private var lastBatchAt = ContinuousClock.now - .seconds(1)
    private let packWriter: ResultPackWriter
    /// The pack ``packWriter`` appends to, as ``unpacks`` knows it.
    private var openPack: String?
    private let durability: ResultDurability
    /// Pack a batch's small results when there are at least this many (0: never).
    private let packThreshold: Int
    private let journal: Journal
    private let store: ResultStore
    private let logger: Logger
    private let wakeup = WakePipe()

    /// - Parameter waitingResults: packed results found at start-up (verified), to unpack first.
    init(journal: Journal, store: ResultStore, durability: ResultDurability, packThreshold: Int, logger: Logger,
         waitingResults: [UnpackQueue.Entry] = []) {
        self.journal = journal
        self.store = store
        self.durability = durability
        self.packThreshold = packThreshold
        self.logger = logger
        packWriter = ResultPackWriter(store: store)
        for entry in waitingResults { _ = unpacks.add(entry) }
        waiting = unpacks.count
        let thread = Thread { [self] in self.loop() }
        thread.name = "circuitsweep-commit"
        thread.start()
    }

    /// Readable when a batch completed (register it with the loop's poller; `nil`: poll briefly).
    var wakeDescriptor: Int32? { wakeup?.descriptor }

    /// Whether a batch is submitted and not yet taken back with ``takeCompleted()``.
    var isBusy: Bool {
        condition.lock()
        defer { condition.unlock() }
        return busy
    }

    /// Packed results whose own files are not written yet.
    var waitingResults: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting
    }

    /// Results that went through a pack so far.
    var packedResults: Int {
        condition.lock()
        defer { condition.unlock() }
        return packed
    }

    /// Hands over a batch. Only when not ``isBusy``.
    func submit(_ batch: Batch) {
        condition.lock()
        precondition(!busy, "one group commit at a time")
        busy = true
        pending = batch
        condition.signal()
        condition.unlock()
    }

    /// The outcome of the submitted batch once it is committed (`nil`: still running, or
    /// nothing submitted).
    func takeCompleted() -> Result<[FileFailure], JournalError>? {
        wakeup?.drain()
        condition.lock()
        defer { condition.unlock() }
        guard let outcome = completed else { return nil }
        completed = nil
        busy = false
        return outcome
    }

    /// Waits for the submitted batch (if any) and returns its outcome.
    func waitForCompletion() -> Result<[FileFailure], JournalError>? {
        condition.lock()
        while busy, completed == nil { condition.wait() }
        condition.unlock()
        return takeCompleted()
    }

    /// Waits until every packed result is in its own file, `deadline` passes, or no file was
    /// written for `stall` (e.g. a full disk); returns how many still wait. Call with no batch
    /// submitted.
    func waitForUnpacking(deadline: ContinuousClock.Instant, stall: Duration = .seconds(30)) -> Int {
        condition.lock()
        defer { condition.unlock() }
        var last = waiting
        var progressAt = ContinuousClock.now
        while waiting > 0, ContinuousClock.now < deadline, ContinuousClock.now - progressAt < stall {
            let left = (deadline - ContinuousClock.now).inSeconds
            _ = condition.wait(until: Date(timeIntervalSinceNow: min(0.25, max(0.001, left))))
            if waiting < last {
                last = waiting
                progressAt = ContinuousClock.now
            }
        }
        return waiting
    }

    /// Stops the thread after the current batch (packed results still waiting stay in their
    /// packs; the journal says where, and the next start unpacks them).
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: The commit thread

    private func loop() {
        while true {
            condition.lock()
            while pending == nil, !closed, !canUnpack {
                if let until = unpackResumesAt {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.001, (until - ContinuousClock.now).inSeconds)))
                } else {
                    condition.wait()
                }
            }
            if let batch = pending {
                pending = nil
                condition.unlock()
                let outcome = commit(batch)
                lastBatchAt = .now
                condition.lock()
                completed = outcome
                waiting = unpacks.count
                condition.broadcast()
                condition.unlock()
                wakeup?.wake()
                continue
            }
            if closed {
                condition.unlock()
                packWriter.close()
                removePacks(noteOpenPack())
                return
            }
            condition.unlock()
            unpackStep()
            condition.lock()
            waiting = unpacks.count
            condition.broadcast()
            condition.unlock()
        }
    }

    private var canUnpack: Bool {
        guard let at = unpackResumesAt else { return false }
        return ContinuousClock.now >= at || unpacks.count >= Self.maxWaitingResults
    }

    /// When unpacking may go on (`nil`: nothing waits).
    private var unpackResumesAt: ContinuousClock.Instant? {
        guard !unpacks.isEmpty else { return nil }
        let idle = lastBatchAt + Self.unpackIdleDelay
        guard let paused = unpackPausedUntil else { return idle }
        return max(idle, paused)
    }

    /// Files first (each atomically, or one pack for many small ones), then their sync, then the
    /// journal: a unit is journaled done only once its bytes are durable per `durability`.
    private func commit(_ batch: Batch) -> Result<[FileFailure], JournalError> {
        let fsyncEach = durability == .fsyncEachFile
        var failures: [FileFailure] = []
        var direct: [FileWrite] = []
        var packable: [(FileWrite, [UInt8])] = []
        for f in batch.files {
            if case .bytes(let bytes) = f.result, bytes.count <= Self.packableBytes {
                packable.append((f, bytes))
            } else {
                direct.append(f)
            }
        }
        var packedAt: [UnitID: PackedResult] = [:]
        let packing = packThreshold > 0 && packable.count >= packThreshold
        // A batch whose only files are one pack flushes just that pack (and its folder) instead
        // of the whole file system.
        let packOnly = packing && direct.isEmpty
        var completedPacks: [String] = []
        if packing {
            do {
                let appended = try packWriter.append(
                    packable.map { .init(resultPath: $0.0.resultPath, sha256: $0.0.sha256, bytes: $0.1) },
                    fsync: fsyncEach || (packOnly && durability == .syncPerTick))
                for (entry, location) in zip(packable, appended.locations) { packedAt[entry.0.unit] = location }
            } catch {
                failures += packable.map { FileFailure(unit: $0.0.unit, lease: $0.0.lease, error: error.description) }
            }
            completedPacks += noteOpenPack()
        } else {
            direct += packable.map(\.0)
        }
        for f in direct {
            do {
                switch f.result {
                case .bytes(let bytes):
                    try store.commit(bytes, to: f.resultPath, fsync: fsyncEach, token: "lease-\(f.lease.value)")
                case .staged(let staging):
                    try store.promote(staging: staging, to: f.resultPath, fsync: fsyncEach)
                }
            } catch {
                failures.append(FileFailure(unit: f.unit, lease: f.lease, error: error.description))
            }
        }
        if !batch.files.isEmpty, !packOnly, durability == .syncPerTick { store.syncAll() }
        let failed = Set(failures.map(\.unit))
        var changes: [JournalChange] = []
        changes.reserveCapacity(batch.changes.count)
        for change in batch.changes {
            if case let .unitDone(unit, path, sha, _, at) = change {
                if failed.contains(unit) { continue }
                changes.append(.unitDone(unit: unit, path: path, sha256: sha, packed: packedAt[unit], at: at))
            } else {
                changes.append(change)
            }
        }
        do {
            try journal.apply(changes)
        } catch {
            // The pack (if any) is referenced by nothing; the next start deletes it.
            return .failure(error)
        }
        for f in batch.files where !failed.contains(f.unit) {
            if let location = packedAt[f.unit] {
                completedPacks += unpacks.add(.init(unit: f.unit, resultPath: f.resultPath, location: location))
            } else {
                completedPacks += unpacks.supersede(f.unit)
            }
        }
        removePacks(completedPacks)
        condition.lock()
        packed += packedAt.count
        condition.unlock()
        return .success(failures)
    }

    /// Writes up to ``unpackStep`` packed results to their files, stopping early when a batch
    /// arrives; then makes them durable, journals them unpacked and deletes the packs that hold
    /// nothing needed any more.
    private func unpackStep() {
        let fsyncEach = durability == .fsyncEachFile
        var taken = unpacks.next(limit: Self.unpackStep)[...]
        var written: [UnpackQueue.Entry] = []
        while let entry = taken.first {
            if hasPendingBatch { break }
            taken = taken.dropFirst()
            let bytes: [UInt8]
            do {
                bytes = try store.read(entry.location)
            } catch {
                // The journal says done with these bytes; a restart re-verifies and re-queues the unit.
                logger.error("a packed result cannot be read; restart the coordinator to re-verify and recompute it", metadata: [
                    "unit.id": "\(entry.unit)", "pack": "\(entry.location.pack)", "error": "\(error)",
                ])
                continue
            }
            do {
                try store.commit(bytes, to: entry.resultPath, fsync: fsyncEach, token: "unpack")
                written.append(entry)
            } catch {
                logger.warning("writing a packed result to its file failed; retrying in 1 s", metadata: [
                    "unit.id": "\(entry.unit)", "error": "\(error)",
                ])
                unpacks.requeue(entry)
                unpackPausedUntil = .now + .seconds(1)
                break
            }
        }
        for entry in taken { unpacks.requeue(entry) }
        guard !written.isEmpty else { return }
        if durability == .syncPerTick { store.syncAll() }
        do {
            try journal.apply(written.map { .resultUnpacked(unit: $0.unit, pack: $0.location.pack) })
        } catch {
            // The files are written; the journal still points at the packs, which stay.
            logger.warning("journaling unpacked results failed; their packs stay until the next start",
                           metadata: ["error": "\(error)"])
            return
        }
        removePacks(written.flatMap { unpacks.markWritten($0) })
    }

    private var hasPendingBatch: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pending != nil
    }

    /// Tells ``unpacks`` when the writer closed a pack or started one; returns packs that
    /// hold nothing needed any more. (A pack started and closed within one failed append is
    /// referenced by nothing; the next start deletes it.)
    private func noteOpenPack() -> [String] {
        let now = packWriter.currentPack
        guard now != openPack else { return [] }
        var completed: [String] = []
        if let old = openPack { completed = unpacks.close(old) }
        if let now { unpacks.open(now) }
        openPack = now
        return completed
    }

    /// Deletes packs nothing refers to any more (the journal already says so).
    private func removePacks(_ packs: [String]) {
        for pack in packs { store.removePack(pack) }
    }
}
