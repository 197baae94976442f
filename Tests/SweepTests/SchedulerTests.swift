import Testing
@testable import Sweep

/// A scheduler with a fake clock that records what the shell would do.
struct Harness {
    var scheduler: Scheduler
    var now = 0.0
    var assigned: [Assignment] = []
    var commits: [UnitID: Int] = [:]
    var cancels: [LeaseID] = []
    var requeues: [(UnitID, Int, Double)] = []
    var quarantined: [UnitID] = []
    var discards: [(UnitID, DiscardReason)] = []
    var evicted: [WorkerID] = []
    var timer: Double?
    var shutDown = 0
    var log: [SchedulerAction] = []

    init(units: [SchedulerUnit], configuration: SchedulerConfiguration = .init(
        lease: LeasePolicy(seconds: 10, heartbeatSeconds: 2), retry: RetryPolicy(maxAttempts: 3, backoffSeconds: 5, maxBackoffSeconds: 60),
        speculation: SpeculationPolicy(enabled: true, afterSeconds: 20))) {
        scheduler = Scheduler(units: units, configuration: configuration)
    }

    static func units(_ n: Int, checkpoints: Int = 1, tasks: Int = 1) -> [SchedulerUnit] {
        (0..<n).map { i in
            SchedulerUnit(id: uid(i), checkpoint: CheckpointKey(model: "m", revision: Revision("step\(i / tasks % checkpoints)")),
                          priority: i)
        }
    }

    @discardableResult
    mutating func take(_ actions: [SchedulerAction]) -> [SchedulerAction] {
        log += actions
        for a in actions {
            switch a {
            case .assign(let x): assigned.append(x)
            case .commit(let u, _, _, _): commits[u, default: 0] += 1
            case .discard(let u, _, _, let r): discards.append((u, r))
            case .cancel(_, let l, _): cancels.append(l)
            case .requeue(let u, let n, _, let t): requeues.append((u, n, t))
            case .quarantine(let u, _, _): quarantined.append(u)
            case .evictWorker(let w, _): evicted.append(w)
            case .armTimer(let t): timer = t
            case .shutDown: shutDown += 1
            case .leaseEnded: break
            }
        }
        return actions
    }

    mutating func join(_ w: String, capacity: Int = 1) { take(scheduler.onWorkerJoined(WorkerID(w), capacity: capacity, checkpoint: nil, now: now)) }

    mutating func finish(_ a: Assignment, sha: String = String(repeating: "a", count: 64)) {
        take(scheduler.onResult(a.worker, lease: a.lease, unit: a.unit, sha256: sha, now: now))
    }

    mutating func advance(to t: Double) {
        now = t
        take(scheduler.onTick(now: now))
    }

    func lastAssignment(to w: String) -> Assignment? { assigned.last { $0.worker == WorkerID(w) } }

    /// Every unit done exactly once or quarantined, and nothing left leased.
    func expectFinished(_ n: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(scheduler.isFinished, sourceLocation: sourceLocation)
        #expect(scheduler.liveLeaseCount == 0, "orphaned leases", sourceLocation: sourceLocation)
        #expect(shutDown == 1, sourceLocation: sourceLocation)
        for i in 0..<n {
            let state = scheduler.state(of: uid(i))
            if state == .done {
                #expect(commits[uid(i)] == 1, "unit \(i) committed \(commits[uid(i)] ?? 0) times", sourceLocation: sourceLocation)
            } else {
                #expect(state == .quarantined && commits[uid(i)] == nil, sourceLocation: sourceLocation)
            }
        }
    }
}

func uid(_ i: Int) -> UnitID {
    let hex = String(i, radix: 16)
    return UnitID(hex: String(repeating: "0", count: 32 - hex.count) + hex)!
}

@Suite struct SchedulerTests {
    @Test func assignsInPriorityOrderAndFinishes() throws {
        var h = Harness(units: Harness.units(3))
        h.join("w1")
        for i in 0..<3 {
            let a = try #require(h.lastAssignment(to: "w1"))
            #expect(a.unit == uid(i) && a.attempt == 1 && !a.speculative)
            h.finish(a)
        }
        h.expectFinished(3)
        #expect(h.scheduler.stats.committed == 3)
    }

    @Test func capacityBoundsLeases() {
        var h = Harness(units: Harness.units(10))
        h.join("w1", capacity: 4)
        #expect(h.assigned.count == 4)
        #expect(h.scheduler.liveLeaseCount == 4)
    }

    @Test func checkpointAffinityAndSpread() throws {
        // 3 checkpoints × 2 tasks; units of one checkpoint are adjacent in priority.
        var h = Harness(units: Harness.units(6, checkpoints: 3, tasks: 2))
        h.join("a")
        h.join("b")
        let a0 = try #require(h.lastAssignment(to: "a")), b0 = try #require(h.lastAssignment(to: "b"))
        #expect(a0.checkpoint != b0.checkpoint, "a second worker starts on a checkpoint nobody holds")
        h.finish(a0)
        let a1 = try #require(h.lastAssignment(to: "a"))
        #expect(a1.checkpoint == a0.checkpoint, "a worker stays on the checkpoint it holds")
        h.finish(a1)
        h.finish(b0)
        let b1 = try #require(h.lastAssignment(to: "b"))
        #expect(b1.checkpoint == b0.checkpoint)
        h.finish(b1)
        for w in ["a", "b", "a", "b"] {
            if let x = h.lastAssignment(to: w), h.scheduler.state(of: x.unit) == .leased { h.finish(x) }
        }
        h.expectFinished(6)
    }

    @Test func leaseExpiresWithoutHeartbeatsAndHeartbeatsKeepIt() throws {
        var h = Harness(units: Harness.units(1))
        h.join("w1")
        let a = try #require(h.lastAssignment(to: "w1"))
        // Heartbeats every 2 s keep the 10 s lease alive well past 10 s.
        for t in stride(from: 2.0, through: 30, by: 2) {
            h.now = t
            h.take(h.scheduler.onHeartbeat(WorkerID("w1"), capacity: 1, checkpoint: a.checkpoint, leases: [a.lease], now: t))
            h.advance(to: t)
        }
        #expect(h.scheduler.state(of: a.unit) == .leased)
        // Silence: the timer fires at last heartbeat + 10 s, the lease expires, the worker is evicted.
        let deadline = try #require(h.timer)
        #expect(deadline == 40)
        h.advance(to: deadline)
        #expect(h.scheduler.state(of: a.unit) == .pending)
        #expect(h.requeues.first.map { ($0.0, $0.1, $0.2) } ?? (uid(9), 0, 0) == (a.unit, 1, 45))
        #expect(h.evicted == [WorkerID("w1")])
    }

    @Test func failuresBackOffThenQuarantineKeepingTheError() throws {
        var h = Harness(units: Harness.units(1))
        h.join("w1")
        for attempt in 1...3 {
            let a = try #require(h.lastAssignment(to: "w1"))
            #expect(a.attempt == attempt)
            h.take(h.scheduler.onFailure(WorkerID("w1"), lease: a.lease, unit: a.unit, error: "oom \(attempt)", now: h.now))
            if attempt < 3 {
                let backoff = 5.0 * Double(1 << (attempt - 1))
                #expect(h.requeues.last?.2 == h.now + backoff)
                // Not reassigned before the backoff ends, even though the worker is idle.
                #expect(h.assigned.count == attempt)
                h.take(h.scheduler.onHeartbeat(WorkerID("w1"), capacity: 1, checkpoint: nil, leases: [], now: h.now + backoff / 2))
                h.now += backoff / 2
                #expect(h.assigned.count == attempt)
                h.advance(to: h.now + backoff / 2)
            }
        }
        #expect(h.quarantined == [uid(0)])
        #expect(h.scheduler.attempts(of: uid(0)) == 3)
        h.expectFinished(1)
    }

    @Test func lateResultFromExpiredLeaseCommitsOnceAndCancelsTheOtherCopy() throws {
        var h = Harness(units: Harness.units(1))
        h.join("a")
        let a = try #require(h.lastAssignment(to: "a"))
        h.join("b")
        h.now = 5
        h.take(h.scheduler.onHeartbeat(WorkerID("b"), capacity: 1, checkpoint: nil, leases: [], now: 5))
        h.advance(to: 10)  // a's lease expires (a is frozen); backoff 5 s
        h.take(h.scheduler.onHeartbeat(WorkerID("b"), capacity: 1, checkpoint: nil, leases: [], now: 12))
        h.advance(to: 15)
        let b = try #require(h.lastAssignment(to: "b"))
        #expect(b.unit == a.unit && b.lease != a.lease && b.attempt == 2)
        // a wakes up and delivers: the unit is not done yet, so it commits; b's copy is cancelled.
        h.now = 16
        h.finish(a)
        #expect(h.commits[a.unit] == 1)
        #expect(h.cancels == [b.lease])
        // b delivers anyway: discarded, never committed twice.
        h.finish(b)
        #expect(h.commits[a.unit] == 1)
        #expect(h.discards.map(\.1) == [.alreadyDone])
        h.expectFinished(1)
    }

    @Test func speculativeCopyOfAStragglerFirstCommitWins() throws {
        var h = Harness(units: Harness.units(2))
        h.join("a")
        h.join("b")
        let a = try #require(h.lastAssignment(to: "a")), b = try #require(h.lastAssignment(to: "b"))
        h.now = 1
        h.finish(b)  // b is idle now; a straggles
        #expect(h.assigned.count == 2)
        for t in stride(from: 2.0, through: 20, by: 2) {
            h.take(h.scheduler.onHeartbeat(WorkerID("a"), capacity: 1, checkpoint: nil, leases: [a.lease], now: t))
            h.take(h.scheduler.onHeartbeat(WorkerID("b"), capacity: 1, checkpoint: nil, leases: [], now: t))
            h.now = t
            if let timer = h.timer, timer <= t { h.advance(to: t) }
        }
        let copy = try #require(h.lastAssignment(to: "b"))
        #expect(copy.speculative && copy.unit == a.unit)
        h.finish(copy)
        #expect(h.cancels == [a.lease])
        h.finish(a)
        #expect(h.commits[a.unit] == 1 && h.discards.count == 1)
        h.expectFinished(2)
    }

    @Test func releaseRequeuesWithoutCountingAnAttempt() throws {
        var h = Harness(units: Harness.units(2))
        h.join("a")
        let a = try #require(h.lastAssignment(to: "a"))
        h.take(h.scheduler.onRelease(WorkerID("a"), lease: a.lease, unit: a.unit, draining: true, now: 1))
        #expect(h.scheduler.attempts(of: a.unit) == 0)
        #expect(h.assigned.count == 1, "a draining worker gets no new work")
        h.take(h.scheduler.onWorkerLeft(WorkerID("a"), now: 2))
        h.join("b", capacity: 2)
        #expect(h.assigned.suffix(2).map(\.unit) == [uid(0), uid(1)])
        for x in h.assigned.suffix(2) { h.finish(x) }
        h.expectFinished(2)
    }

    @Test func unknownWorkerHeartbeatRejoins() throws {
        var h = Harness(units: Harness.units(1))
        h.take(h.scheduler.onHeartbeat(WorkerID("ghost"), capacity: 1, checkpoint: nil, leases: [LeaseID(99)], now: 0))
        #expect(h.scheduler.isKnown(WorkerID("ghost")))
        let a = try #require(h.lastAssignment(to: "ghost"))
        h.finish(a)
        h.expectFinished(1)
    }

    @Test func restartFromJournalStates() throws {
        let units = [
            SchedulerUnit(id: uid(0), checkpoint: CheckpointKey(model: "m", revision: Revision("step0")), priority: 0, attempts: 0, state: .done),
            SchedulerUnit(id: uid(1), checkpoint: CheckpointKey(model: "m", revision: Revision("step0")), priority: 1, attempts: 1, state: .leased),
            SchedulerUnit(id: uid(2), checkpoint: CheckpointKey(model: "m", revision: Revision("step0")), priority: 2, attempts: 3, state: .quarantined),
        ]
        var h = Harness(units: units)
        #expect(h.scheduler.remainingUnits == 1)
        h.join("w")
        let a = try #require(h.lastAssignment(to: "w"))
        #expect(a.unit == uid(1) && a.attempt == 2)
        // A late result for a done unit (e.g. re-delivered after the restart) is discarded.
        h.take(h.scheduler.onResult(WorkerID("w"), lease: LeaseID(1234), unit: uid(0), sha256: String(repeating: "a", count: 64), now: 1))
        #expect(h.discards.map(\.1) == [.alreadyDone])
        h.finish(a)
        #expect(h.shutDown == 1)
        #expect(h.scheduler.liveLeaseCount == 0)
    }

    @Test func commitFailureRetries() throws {
        var h = Harness(units: Harness.units(1))
        h.join("w")
        let a = try #require(h.lastAssignment(to: "w"))
        h.finish(a)
        h.take(h.scheduler.onCommitFailed(unit: a.unit, error: "disk full", now: 1))
        #expect(h.scheduler.state(of: a.unit) == .pending && h.scheduler.attempts(of: a.unit) == 1)
        h.take(h.scheduler.onHeartbeat(WorkerID("w"), capacity: 1, checkpoint: nil, leases: [], now: 5))
        h.advance(to: 6)
        let b = try #require(h.lastAssignment(to: "w"))
        #expect(b.unit == a.unit && b.attempt == 2)
    }

    @Test func retryRequeuesQuarantinedUnitsOfAFinishedSweepAndFinishesAgain() throws {
        var h = Harness(units: Harness.units(2))
        h.join("w", capacity: 2)
        let first = h.assigned
        #expect(first.count == 2)
        h.finish(first[0])
        // Unit 1 fails three times: quarantined, and the sweep is finished.
        for attempt in 1...3 {
            let a = try #require(h.assigned.last { $0.unit == uid(1) })
            #expect(a.attempt == attempt)
            h.take(h.scheduler.onFailure(a.worker, lease: a.lease, unit: a.unit, error: "missing checkpoint", now: h.now))
            if attempt < 3 {
                let backoff = 5 * Double(1 << (attempt - 1))
                h.now += backoff / 2
                h.take(h.scheduler.onHeartbeat(WorkerID("w"), capacity: 2, checkpoint: nil, leases: [], now: h.now))
                h.advance(to: h.now + backoff / 2)
            }
        }
        #expect(h.quarantined == [uid(1)] && h.shutDown == 1 && h.scheduler.isFinished)

        // Done, unknown and repeated ids are ignored; the quarantined unit runs again from attempt 1.
        h.take(h.scheduler.onRetry([uid(0), uid(1), uid(99), uid(1)], now: h.now))
        #expect(h.scheduler.stats.retried == 1 && h.scheduler.remainingUnits == 1)
        #expect(h.requeues.last.map { ($0.0, $0.1) } ?? (uid(9), 9) == (uid(1), 0))
        let again = try #require(h.assigned.last)
        #expect(again.unit == uid(1) && again.attempt == 1)
        #expect(h.scheduler.attempts(of: uid(1)) == 0)
        h.finish(again)
        #expect(h.scheduler.state(of: uid(1)) == .done && h.commits[uid(0)] == 1 && h.commits[uid(1)] == 1)
        #expect(h.shutDown == 2 && h.scheduler.isFinished && h.scheduler.liveLeaseCount == 0)
    }

    @Test func unknownUnitResultIsDiscarded() {
        var h = Harness(units: Harness.units(1))
        h.take(h.scheduler.onResult(WorkerID("w"), lease: LeaseID(1), unit: uid(77), sha256: String(repeating: "a", count: 64), now: 0))
        #expect(h.discards.map(\.1) == [.unknownUnit])
    }

    @Test func largeQueueIsFast() {
        // 30,000 units over 300 checkpoints through 8 workers; a regression to quadratic
        // behaviour shows up as a timeout. (`circuitsweep bench sweep` measures throughput.)
        let n = 30_000
        var h = Harness(units: Harness.units(n, checkpoints: 300, tasks: 100))
        for w in 0..<8 { h.join("w\(w)", capacity: 2) }
        var done = 0
        var cursor = 0
        while done < n {
            let batch = h.assigned[cursor...]
            cursor = h.assigned.count
            for a in batch {
                h.take(h.scheduler.onResult(a.worker, lease: a.lease, unit: a.unit, sha256: String(repeating: "a", count: 64), now: 0))
                done += 1
            }
            h.log.removeAll(keepingCapacity: true)
        }
        #expect(h.scheduler.isFinished && h.shutDown == 1)
    }
}
