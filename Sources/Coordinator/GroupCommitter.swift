import Foundation
import Sweep
import ZeroMQ

/// Runs the coordinator's group commits on a thread of their own — the tick's result files
/// (temporary file and atomic rename each), their `sync(2)` (with ``ResultDurability/syncPerTick``),
/// then the tick's journal transaction —
/// so that the loop keeps receiving and handling messages meanwhile (pipelining: one batch
/// commits while the next one is gathered).
///
/// One batch at a time, in submission order. The loop MUST send a batch's messages only
/// after ``takeCompleted()`` returned it: nothing reaches a worker before the state change
/// behind it is journaled.
final class GroupCommitter: @unchecked Sendable {
    // @unchecked: `pending`, `completed`, `busy` and `closed` are only touched under
    // `condition`; `journal`, `store` and `wakeup` are Sendable.
    struct Batch: Sendable {
        var files: [FileWrite]
        var changes: [JournalChange]
        var durability: ResultDurability
    }

    /// A verified result to store at its final path.
    struct FileWrite: Sendable {
        var unit: UnitID
        var lease: LeaseID
        var resultPath: String
        var result: PendingCommit
    }

    /// A result that could not be stored; its `unitDone` change was left out of the transaction.
    struct FileFailure: Sendable {
        var unit: UnitID
        var lease: LeaseID
        var error: String
    }

    private let condition = NSCondition()
    private var pending: Batch?
    private var completed: Result<[FileFailure], JournalError>?
    private var closed = false
    private var busy = false
    private let journal: Journal
    private let store: ResultStore
    private let wakeup = WakePipe()

    init(journal: Journal, store: ResultStore) {
        self.journal = journal
        self.store = store
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

    /// Stops the thread after the current batch.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Files first (each atomically), then their sync, then the journal: a unit is journaled
    /// done only once its file is durable per `durability`.
    private func commit(_ batch: Batch) -> Result<[FileFailure], JournalError> {
        let fsyncEach = batch.durability == .fsyncEachFile
        var failures: [FileFailure] = []
        for f in batch.files {
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
        if !batch.files.isEmpty, batch.durability == .syncPerTick { store.syncAll() }
        var changes = batch.changes
        if !failures.isEmpty {
            let failed = Set(failures.map(\.unit))
            changes.removeAll { change in
                if case .unitDone(let unit, _, _, _) = change { return failed.contains(unit) }
                return false
            }
        }
        return Result { () throws(JournalError) in
            try journal.apply(changes)
            return failures
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while pending == nil, !closed { condition.wait() }
            guard let batch = pending else {
                condition.unlock()
                return
            }
            pending = nil
            condition.unlock()
            let outcome = commit(batch)
            condition.lock()
            completed = outcome
            condition.broadcast()
            condition.unlock()
            wakeup?.wake()
        }
    }
}
