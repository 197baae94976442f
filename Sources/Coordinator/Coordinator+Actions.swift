import Foundation
import Logging
import Sweep
import ZeroMQ

/// A verified result waiting for the scheduler's verdict.
enum PendingCommit: Sendable {
    case bytes([UInt8])
    case staged(String)
}

extension Coordinator {
    /// Carries out scheduler actions: file commits happen now; journal changes and messages
    /// are collected for ``flush()``.
    func absorb(_ actions: [SchedulerAction]) {
        let wall = wallNow
        for action in actions {
            switch action {
            case .assign(let a):
                guard let p = planned(a.unit), let model = models[p.key.model] else { continue }
                if firstAssignmentAt == nil { firstAssignmentAt = .now }
                changes.append(.leaseIssued(unit: a.unit, lease: a.lease.value, worker: a.worker.value, at: wall))
                outbox.append((a.worker, .assign(.init(
                    lease: a.lease, unit: a.unit, attempt: a.attempt, speculative: a.speculative, model: model,
                    revision: p.key.revision, task: p.key.task, datasetHash: p.key.datasetHash, analysis: p.key.analysis,
                    resultPath: p.resultPath, resultSchemaVersion: p.key.resultSchemaVersion))))
            case .commit(let unit, let lease, let worker, let sha):
                commit(unit: unit, lease: lease, worker: worker, sha256: sha, at: wall)
            case .discard(let unit, let lease, let worker, let reason):
                outbox.append((worker, .ack(.init(unit: unit, lease: lease, status: reason == .alreadyDone ? .duplicate : .unknown))))
            case .leaseEnded(let unit, let lease, _, let outcome, let error):
                changes.append(.leaseEnded(unit: unit, lease: lease.value, outcome: outcome, error: error, at: wall))
            case .requeue(let unit, let attempts, let error, _):
                changes.append(.unitState(unit: unit, state: .pending, attempts: attempts, lastError: error, at: wall))
            case .quarantine(let unit, let attempts, let error):
                logger.warning("unit quarantined", metadata: ["unit.id": "\(unit)", "attempts": "\(attempts)", "error": "\(error)"])
                changes.append(.unitState(unit: unit, state: .quarantined, attempts: attempts, lastError: error, at: wall))
            case .cancel(let worker, let lease, let unit):
                outbox.append((worker, .cancel(.init(unit: unit, lease: lease))))
            case .evictWorker(let worker, let reason):
                logger.info("worker evicted", metadata: ["worker.id": "\(worker)", "reason": "\(reason)"])
                assembler.dropAll(worker: worker)
                knownWorkers.remove(worker)
                changes.append(.workerGone(id: worker.value, reason: reason, at: wall))
            case .armTimer(let at):
                timerAt = at
            case .shutDown:
                finished = true
                for w in knownWorkers.sorted() {
                    outbox.append((w, .shutdown(.init(reason: "sweep finished"))))
                    changes.append(.workerGone(id: w.value, reason: "sweep finished", at: wall))
                }
            }
        }
    }

    /// Queues the result file for the tick's group commit, which writes it (atomic rename),
    /// makes it durable and only then journals it done; the ack goes out after that.
    func commit(unit: UnitID, lease: LeaseID, worker: WorkerID, sha256: String, at wall: Double) {
        guard let planned = planned(unit), let pending = pendingCommits.removeValue(forKey: lease) else {
            // Only reachable if the scheduler commits without a verified result: treat as failure.
            absorb(scheduler.onCommitFailed(unit: unit, error: "no verified result bytes", now: now))
            return
        }
        fileWrites.append(.init(unit: unit, lease: lease, resultPath: planned.resultPath, sha256: sha256, result: pending))
        changes.append(.unitDone(unit: unit, path: planned.resultPath, sha256: sha256, at: wall))
        outbox.append((worker, .ack(.init(unit: unit, lease: lease, status: .committed))))
    }

    /// A result file the group commit could not store: the unit was not journaled done; its
    /// worker gets `rejected` instead of `committed` and the scheduler counts a failure.
    func commitFailed(_ failure: GroupCommitter.FileFailure) {
        logger.error("storing a result failed", metadata: ["unit.id": "\(failure.unit)", "error": "\(failure.error)"])
        for i in inFlight.indices {
            if case .ack(let a) = inFlight[i].1, a.lease == failure.lease, a.status == .committed {
                inFlight[i].1 = .ack(.init(unit: a.unit, lease: a.lease, status: .rejected, detail: failure.error))
            }
        }
        absorb(scheduler.onCommitFailed(unit: failure.unit, error: failure.error, now: now))
    }

    /// Group commit, pipelined: the tick's result files are written and synced and its state
    /// changes journaled in one transaction on the ``GroupCommitter``'s thread while the loop goes on;
    /// the tick's messages go out once that transaction is committed. While a batch is in
    /// flight, later ticks keep gathering into the next one (messages stay in tick order).
    /// - Parameter wait: block until everything gathered so far is committed and sent.
    func flush(wait: Bool = false) throws {
        guard let committer else { return }
        if committer.isBusy {
            guard let outcome = wait ? committer.waitForCompletion() : committer.takeCompleted() else { return }
            for failure in try outcome.get() { commitFailed(failure) }
            try send(inFlight)
            inFlight.removeAll(keepingCapacity: true)
        }
        if changes.isEmpty, fileWrites.isEmpty {
            try send(outbox)  // nothing to journal (e.g. a dataset reply), nothing in flight
            outbox.removeAll(keepingCapacity: true)
            return
        }
        if !changes.isEmpty { journalTransactions += 1 }
        committer.submit(.init(files: fileWrites, changes: changes))
        changes.removeAll(keepingCapacity: true)
        fileWrites.removeAll(keepingCapacity: true)
        swap(&inFlight, &outbox)
        if wait { try flush(wait: true) }
    }

    /// Sends messages in order; an unreachable worker's are dropped (its leases expire).
    func send(_ messages: [(WorkerID, WireMessage)]) throws {
        guard let socket else { return }
        for (worker, message) in messages {
            var frames = [Data(worker.value.utf8)]
            frames += codec.encode(message).map { Data($0) }
            let result = Result { () throws(ZMQError) -> Bool in try socket.send(frames, timeout: .zero) }
            if case .failure(let error) = result {
                guard error.isHostUnreachable else { throw error }
                // The worker is gone; its leases expire and the scheduler requeues them.
                logger.debug("worker unreachable", metadata: ["worker.id": "\(worker)", "message": "\(message.kind.rawValue)"])
            }
        }
    }
}
