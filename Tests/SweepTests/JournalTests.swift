import Foundation
import Testing
@testable import Sweep

/// A temporary folder removed at deinit.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sweeptests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct JournalTests {
    @Test func recordsPlansAndStateChanges() throws {
        let dir = TempDir()
        let journal = try Journal(path: dir.path + "/journal.sqlite")
        let plan = Planner.enumerate(PlannerTests.spec(), resultSchemaVersion: 1)
        try journal.record(plan: plan, at: 1)
        try journal.record(plan: plan, at: 2)  // idempotent
        var rows = try journal.units()
        #expect(rows.count == plan.count)
        #expect(rows.allSatisfy { $0.state == .pending && $0.attempts == 0 })

        let u = plan[0].id, w = "w1"
        try journal.apply([
            .workerSeen(id: w, host: "h", pid: 1, capacity: 1, at: 3),
            .leaseIssued(unit: u, lease: 7, worker: w, at: 3),
        ])
        #expect(try journal.units().first { $0.id == u }?.state == .leased)
        #expect(try journal.nextLeaseID() == 8)
        #expect(try journal.status().liveLeases == 1)
        try journal.apply([
            .leaseEnded(unit: u, lease: 7, outcome: .failed, error: "oom", at: 4),
            .unitState(unit: u, state: .pending, attempts: 1, lastError: "oom", at: 4),
            .leaseIssued(unit: u, lease: 8, worker: w, at: 5),
            .leaseEnded(unit: u, lease: 8, outcome: .committed, error: nil, at: 6),
            .unitDone(unit: u, path: plan[0].resultPath, sha256: String(repeating: "b", count: 64), at: 6),
            .counter(name: "committed", delta: 1),
            // A late state change never undoes done.
            .unitState(unit: u, state: .pending, attempts: 2, lastError: "late", at: 7),
        ])
        let row = try #require(try journal.units().first { $0.id == u })
        #expect(row.state == .done && row.attempts == 1 && row.lastError == "oom" && row.sha256 == String(repeating: "b", count: 64))

        // Read-only view while the writer is open.
        let reader = try Journal(readOnlyPath: dir.path + "/journal.sqlite")
        let status = try reader.status()
        #expect(status.counts[.done] == 1 && status.counts[.pending] == plan.count - 1)
        #expect(status.liveLeases == 0)
        #expect(status.recentErrors.first?.error == "oom")
        #expect(status.counters["committed"] == 1)

        // Restart: leased units go back to pending; quarantined ones come back on request.
        let v = plan[1].id
        try journal.apply([.leaseIssued(unit: v, lease: 9, worker: w, at: 8)])
        #expect(try journal.status().liveLeases == 1)
        try journal.recoverInterruptedLeases(at: 9)
        rows = try journal.units()
        #expect(rows.first { $0.id == v }?.state == .pending)
        #expect(try journal.status().liveLeases == 0)
        #expect(try journal.attempts().first { $0.lease == 9 }?.outcome == "interrupted")
        try journal.apply([.unitState(unit: v, state: .quarantined, attempts: 3, lastError: "x", at: 10)])
        #expect(try journal.retryQuarantined(at: 11) == 1)
        #expect(try journal.units().first { $0.id == v }.map { ($0.state, $0.attempts) } ?? (.done, 9) == (.pending, 0))
    }

    @Test func retryFiltersQuarantinedUnitsAndQueuesRequestsForARunningCoordinator() throws {
        let dir = TempDir()
        let journal = try Journal(path: dir.path + "/journal.sqlite")
        let plan = Planner.enumerate(PlannerTests.spec(), resultSchemaVersion: 1)
        try journal.record(plan: plan, at: 1)
        #expect(plan.count >= 4)
        let q = Array(plan.prefix(3))
        try journal.apply(q.map { .unitState(unit: $0.id, state: .quarantined, attempts: 3, lastError: "boom", at: 2) }
                          + [.unitDone(unit: plan[3].id, path: plan[3].resultPath, sha256: String(repeating: "d", count: 64), at: 2)])

        // A filter by unit prefix; a done unit and an unknown id are reported, not touched.
        let outcome = try journal.retry(RetryFilter(units: [String(q[0].id.hex.prefix(8)), plan[3].id.hex, "abcdef12"]), at: 3)
        #expect(outcome.requeued == [q[0].id])
        #expect(outcome.unmatched.map(\.unit) == [plan[3].id.hex, "abcdef12"])
        #expect(outcome.unmatched.map(\.state) == [.done, nil])
        var rows = try journal.units()
        #expect(rows.first { $0.id == q[0].id }.map { ($0.state, $0.attempts) } ?? (.done, 9) == (.pending, 0))
        #expect(rows.first { $0.id == q[1].id }?.state == .quarantined)

        // Everything else quarantined; a running coordinator reads the requests after the last it applied.
        #expect(try journal.retryQuarantined(at: 4) == 2)
        let requests = try journal.retryRequests(after: 0)
        #expect(requests.map(\.unit) == [q[0].id, q[1].id, q[2].id] || requests.map(\.unit) == [q[0].id, q[2].id, q[1].id])
        #expect(try journal.retryRequests(after: requests[0].id).count == 2)
        try journal.apply([.retryRequestsApplied(upTo: requests[1].id)])
        #expect(try journal.retryRequests(after: 0).map(\.id) == [requests[2].id])
        // A (re)starting coordinator drops the rest: the units are pending in `units` already.
        try journal.recoverInterruptedLeases(at: 5)
        #expect(try journal.retryRequests(after: 0).isEmpty)
        rows = try journal.units()
        #expect(q.allSatisfy { u in rows.first { $0.id == u.id }?.state == .pending })
        // Nothing quarantined left: a second retry is a no-op.
        #expect(try journal.retryQuarantined(at: 6) == 0)
    }

    @Test func missingReadOnlyJournalIsAClearError() {
        #expect(throws: JournalError.self) { try Journal(readOnlyPath: "/nonexistent/journal.sqlite") }
    }

    @Test func planRequeuesMissingResults() throws {
        let dir = TempDir()
        let journal = try Journal(path: dir.path + "/j.sqlite")
        var plan = Planner.enumerate(PlannerTests.spec(), resultSchemaVersion: 1)
        try journal.record(plan: plan, at: 1)
        try journal.apply([.unitDone(unit: plan[0].id, path: plan[0].resultPath, sha256: String(repeating: "c", count: 64), at: 2)])
        plan[0].reason = .resultMissing(path: plan[0].resultPath)
        try journal.record(plan: plan, at: 3)
        let row = try #require(try journal.units().first { $0.id == plan[0].id })
        #expect(row.state == .pending && row.sha256 == nil)
    }
}
