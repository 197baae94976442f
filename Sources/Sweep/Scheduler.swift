/// The sweep's scheduling state machine: events in, actions out. Pure: no clock, no I/O;
/// every event carries `now` (seconds on any monotonic scale the shell chooses).
///
/// Guarantees (tested in SchedulerTests and SchedulerPropertyTests):
/// - a unit is committed at most once: the first result of a not-done unit commits, any
///   later one (a speculative copy or a late result from an expired lease) is discarded;
/// - every unit ends done or quarantined when workers keep coming back;
/// - a unit runs on at most `maxCopies` workers at once, and re-issues only happen when
///   nothing is queued (the straggling tail).
///
/// One owner: the coordinator's loop thread.
public struct Scheduler: Sendable {
    public let configuration: SchedulerConfiguration
    public internal(set) var stats = SchedulerStats()

    // Units, by dense index.
    enum Phase: Sendable, Equatable { case queued, waiting, leased, done, quarantined }
    struct UnitSlot: Sendable {
        let id: UnitID
        let checkpoint: Int
        let priority: Int
        var attempts: Int
        var phase: Phase
        var notBefore: Double = 0
        var leases: [LeaseID] = []
        var lastError: String?
    }
    var units: [UnitSlot] = []
    var unitIndex: [UnitID: Int] = [:]
    var checkpoints: [CheckpointKey] = []
    var checkpointIndex: [CheckpointKey: Int] = [:]
    /// Queued units per checkpoint (lazy: entries whose unit is no longer queued are skipped).
    var queues: [MinHeap<Keyed<Int>>] = []
    /// Checkpoints by the priority of their queue head (lazy).
    var checkpointHeap = MinHeap<Keyed<Int>>()
    /// Workers holding each checkpoint.
    var holders: [Int] = []
    /// Units waiting for their backoff to end (lazy).
    var delayed = MinHeap<Keyed<Double>>()
    var remaining = 0

    struct LeaseSlot: Sendable {
        let unit: Int
        let worker: WorkerID
        let issuedAt: Double
        var expiresAt: Double
    }
    var leases: [LeaseID: LeaseSlot] = [:]
    var expiries = MinHeap<LeaseExpiry>()
    var nextLease: UInt64

    struct WorkerSlot: Sendable {
        var capacity: Int
        var leases: Set<LeaseID> = []
        var checkpoint: Int?
        var lastSeen: Double
        var accepting: Bool
    }
    var workers: [WorkerID: WorkerSlot] = [:]
    var armedAt: Double?
    var shutDownSent = false

    /// - Parameters:
    ///   - units: every unit of the sweep with its journal state (`leased` counts as pending).
    ///   - firstLease: the first lease id to issue (``Journal/nextLeaseID()``).
    public init(units: [SchedulerUnit], configuration: SchedulerConfiguration, firstLease: UInt64 = 1) {
        self.configuration = configuration
        self.nextLease = max(1, firstLease)
        self.units.reserveCapacity(units.count)
        var perQueue: [[Keyed<Int>]] = []
        for u in units {
            guard unitIndex[u.id] == nil else { continue }
            let c: Int
            if let existing = checkpointIndex[u.checkpoint] {
                c = existing
            } else {
                c = checkpoints.count
                checkpoints.append(u.checkpoint)
                checkpointIndex[u.checkpoint] = c
                perQueue.append([])
                holders.append(0)
            }
            let phase: Phase
            switch u.state {
            case .pending, .leased: phase = .queued
            case .done: phase = .done
            case .quarantined: phase = .quarantined
            }
            let i = self.units.count
            unitIndex[u.id] = i
            self.units.append(UnitSlot(id: u.id, checkpoint: c, priority: u.priority, attempts: u.attempts, phase: phase))
            if phase == .queued {
                perQueue[c].append(Keyed(key: u.priority, index: i))
                remaining += 1
            }
        }
        queues = perQueue.map { MinHeap($0) }
        checkpointHeap = MinHeap(queues.enumerated().compactMap { c, q in q.min.map { Keyed(key: $0.key, index: c) } })
    }

    // MARK: Queries

    /// Units neither done nor quarantined.
    public var remainingUnits: Int { remaining }
    public var isFinished: Bool { remaining == 0 }
    public var liveLeaseCount: Int { leases.count }
    public var workerCount: Int { workers.count }
    public func isKnown(_ worker: WorkerID) -> Bool { workers[worker] != nil }

    public func state(of unit: UnitID) -> UnitState? {
        guard let i = unitIndex[unit] else { return nil }
        switch units[i].phase {
        case .queued, .waiting: return .pending
        case .leased: return .leased
        case .done: return .done
        case .quarantined: return .quarantined
        }
    }

    public func attempts(of unit: UnitID) -> Int? { unitIndex[unit].map { units[$0].attempts } }

    /// The live leases of a unit.
    public func leases(of unit: UnitID) -> [LeaseID] { unitIndex[unit].map { units[$0].leases } ?? [] }

    /// The worker and unit a live lease belongs to.
    public func lease(_ id: LeaseID) -> (worker: WorkerID, unit: UnitID)? {
        leases[id].map { ($0.worker, units[$0.unit].id) }
    }

    // MARK: Events

    /// A worker said hello (or re-said it after a reconnect: its leases are kept).
    public mutating func onWorkerJoined(
        _ worker: WorkerID, capacity: Int, checkpoint: CheckpointKey?, now: Double
    ) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        register(worker, capacity: capacity, checkpoint: checkpoint, now: now)
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// The worker wants work up to its capacity (after joining, or after draining was undone).
    public mutating func onWorkerReady(_ worker: WorkerID, capacity: Int, checkpoint: CheckpointKey?, now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        register(worker, capacity: capacity, checkpoint: checkpoint, now: now)
        workers[worker]?.accepting = true
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// The worker is alive and still computing `leases`; only those are renewed. An unknown
    /// worker (evicted, or met by a restarted coordinator) is registered again.
    public mutating func onHeartbeat(
        _ worker: WorkerID, capacity: Int, checkpoint: CheckpointKey?, leases held: [LeaseID], now: Double
    ) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        let wasKnown = workers[worker] != nil
        register(worker, capacity: capacity, checkpoint: checkpoint, now: now)
        for id in held {
            guard var lease = leases[id], lease.worker == worker else { continue }
            lease.expiresAt = now + configuration.lease.seconds
            leases[id] = lease
        }
        if !wasKnown { dispatch(now: now, into: &actions) }
        finish(now: now, into: &actions)
        return actions
    }

    /// A result for `unit` arrived complete and checksummed (chunks reassembled and SHA-256
    /// verified by the shell). Commits unless the unit is already done.
    public mutating func onResult(
        _ worker: WorkerID, lease: LeaseID, unit: UnitID, sha256: String, now: Double
    ) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        if workers[worker] != nil { workers[worker]?.lastSeen = now }
        guard let i = unitIndex[unit] else {
            endLease(lease, ifFor: nil, outcome: .duplicate, error: "unknown unit", into: &actions)
            actions.append(.discard(unit: unit, lease: lease, worker: worker, reason: .unknownUnit))
            finish(now: now, into: &actions)
            return actions
        }
        if units[i].phase == .done {
            stats.duplicates += 1
            endLease(lease, ifFor: i, outcome: .duplicate, error: nil, into: &actions)
            actions.append(.discard(unit: unit, lease: lease, worker: worker, reason: .alreadyDone))
        } else {
            if units[i].phase != .quarantined { remaining -= 1 }
            units[i].phase = .done
            stats.committed += 1
            let committing = leases[lease].map { units[$0.unit].id == unit } ?? false
            actions.append(.commit(unit: unit, lease: lease, worker: worker, sha256: sha256))
            if committing {
                endLease(lease, ifFor: i, outcome: .committed, error: nil, into: &actions)
            } else {
                // A late result from an expired lease: journal it against that lease anyway.
                actions.append(.leaseEnded(unit: unit, lease: lease, worker: worker, outcome: .committed, error: nil))
            }
            for other in units[i].leases {
                guard let slot = leases[other] else { continue }
                actions.append(.cancel(worker: slot.worker, lease: other, unit: unit))
                endLease(other, ifFor: i, outcome: .cancelled, error: nil, into: &actions)
            }
        }
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// The shell could not make a committed result durable: the unit counts a failure.
    public mutating func onCommitFailed(unit: UnitID, error: String, now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        guard let i = unitIndex[unit], units[i].phase == .done else { return actions }
        stats.committed -= 1
        remaining += 1
        units[i].phase = .leased  // transient: `failed` moves it on
        failed(i, error: "commit failed: \(error)", now: now, into: &actions)
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// The worker reports that computing the unit failed.
    public mutating func onFailure(
        _ worker: WorkerID, lease: LeaseID, unit: UnitID, error: String, now: Double
    ) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        if workers[worker] != nil { workers[worker]?.lastSeen = now }
        guard let slot = leases[lease], slot.worker == worker, units[slot.unit].id == unit else {
            // The lease already ended (expired, cancelled): its attempt was counted then.
            return actions
        }
        let i = slot.unit
        stats.failures += 1
        endLease(lease, ifFor: i, outcome: .failed, error: error, into: &actions)
        units[i].lastError = error
        if units[i].leases.isEmpty, units[i].phase == .leased {
            failed(i, error: error, now: now, into: &actions)
        }
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// The worker gives the unit back without a verdict (SIGTERM, draining). No attempt is
    /// counted. With `draining`, the worker takes no new work.
    public mutating func onRelease(
        _ worker: WorkerID, lease: LeaseID, unit: UnitID, draining: Bool, now: Double
    ) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        if draining { workers[worker]?.accepting = false }
        if workers[worker] != nil { workers[worker]?.lastSeen = now }
        if let slot = leases[lease], slot.worker == worker, units[slot.unit].id == unit {
            let i = slot.unit
            stats.released += 1
            endLease(lease, ifFor: i, outcome: .released, error: nil, into: &actions)
            if units[i].leases.isEmpty, units[i].phase == .leased {
                enqueue(i, notBefore: now, now: now)
                actions.append(.requeue(unit: unit, attempts: units[i].attempts, error: nil, notBefore: now))
            }
        }
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// The worker says goodbye; what it still holds is released.
    public mutating func onWorkerLeft(_ worker: WorkerID, now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        guard workers[worker] != nil else { return actions }
        remove(worker, reason: "left", expired: false, now: now, into: &actions)
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// The operator re-queued these units (`circuitsweep retry`): every one that is
    /// quarantined goes back to the queue with its attempt count reset; any other (unknown,
    /// already done, queued or running) is left alone. A finished sweep becomes unfinished
    /// again, so a later ``SchedulerAction/shutDown`` is emitted once the retried units end.
    public mutating func onRetry(_ retried: [UnitID], now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        for unit in retried {
            guard let i = unitIndex[unit], units[i].phase == .quarantined else { continue }
            units[i].attempts = 0
            remaining += 1
            stats.retried += 1
            enqueue(i, notBefore: now, now: now)
            actions.append(.requeue(unit: unit, attempts: 0, error: nil, notBefore: now))
        }
        if remaining > 0 { shutDownSent = false }
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }

    /// Time passed: end backoffs, expire leases, evict silent workers, re-issue stragglers.
    public mutating func onTick(now: Double) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        armedAt = nil
        while let top = delayed.min, top.key <= now {
            delayed.pop()
            let i = top.index
            guard units[i].phase == .waiting, units[i].notBefore == top.key else { continue }
            units[i].phase = .queued
            pushQueued(i)
        }
        while let top = expiries.min, top.expiresAt <= now {
            expiries.pop()
            guard let slot = leases[top.lease] else { continue }
            if slot.expiresAt > now {
                expiries.push(LeaseExpiry(expiresAt: slot.expiresAt, lease: top.lease))
                continue
            }
            expire(top.lease, now: now, into: &actions)
        }
        for (id, w) in workers.sorted(by: { $0.key < $1.key }) where w.lastSeen + configuration.workerTimeout <= now {
            remove(id, reason: "silent for \(configuration.workerTimeout) s", expired: true, now: now, into: &actions)
            stats.evictions += 1
            actions.append(.evictWorker(id, reason: "no message for \(configuration.workerTimeout) s"))
        }
        dispatch(now: now, into: &actions)
        finish(now: now, into: &actions)
        return actions
    }
}

struct LeaseExpiry: Comparable, Sendable {
    var expiresAt: Double
    var lease: LeaseID

    static func < (a: LeaseExpiry, b: LeaseExpiry) -> Bool {
        a.expiresAt < b.expiresAt || (a.expiresAt == b.expiresAt && a.lease < b.lease)
    }
}
