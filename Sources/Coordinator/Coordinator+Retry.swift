import Foundation
import Logging
import Sweep

extension Coordinator {
    /// Live retry: picks up units `circuitsweep retry` re-queued in the journal while this
    /// coordinator runs (see `Journal+Retry.swift`), hands them to the scheduler, and deletes
    /// the requests in this tick's transaction. Called from the loop at most every
    /// ``CoordinatorConfiguration/retryPollInterval``.
    func pollRetryRequests() throws {
        let requests = try journal.retryRequests(after: lastRetryRequest)
        guard let last = requests.last else { return }
        lastRetryRequest = last.id
        let before = scheduler.stats.retried
        absorb(scheduler.onRetry(requests.map(\.unit), now: now))
        changes.append(.retryRequestsApplied(upTo: last.id))
        if !scheduler.isFinished { finished = false }
        logger.info("units retried", metadata: ["units.requested": "\(requests.count)",
                                                "units.requeued": "\(scheduler.stats.retried - before)",
                                                "units.remaining": "\(scheduler.remainingUnits)"])
    }
}
