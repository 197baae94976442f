import Foundation
import Sweep
import ZeroMQ

/// Runs the coordinator's group commits on a thread of their own — `sync(2)` of the tick's
/// result files (with ``ResultDurability/syncPerTick``), then the tick's journal transaction —
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
        var changes: [JournalChange]
        var syncFiles: Bool
    }

    private let condition = NSCondition()
    private var pending: Batch?
    private var completed: Result<Void, JournalError>?
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
    func takeCompleted() -> Result<Void, JournalError>? {
        wakeup?.drain()
        condition.lock()
        defer { condition.unlock() }
        guard let outcome = completed else { return nil }
        completed = nil
        busy = false
        return outcome
    }

    /// Waits for the submitted batch (if any) and returns its outcome.
    func waitForCompletion() -> Result<Void, JournalError>? {
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
            if batch.syncFiles { store.syncAll() }
            let outcome = Result { () throws(JournalError) in try journal.apply(batch.changes) }
            condition.lock()
            completed = outcome
            condition.broadcast()
            condition.unlock()
            wakeup?.wake()
        }
    }
}
