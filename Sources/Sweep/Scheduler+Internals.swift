extension Scheduler {
    mutating func register(_ worker: WorkerID, capacity: Int, checkpoint: CheckpointKey?, now: Double) {
        let cap = max(1, min(capacity, 1024))
        if workers[worker] == nil {
            workers[worker] = WorkerSlot(capacity: cap, checkpoint: nil, lastSeen: now, accepting: true)
        } else {
            workers[worker]?.capacity = cap
            workers[worker]?.lastSeen = now
        }
        if let checkpoint, let c = checkpointIndex[checkpoint] { setCheckpoint(worker, c) }
    }

    mutating func setCheckpoint(_ worker: WorkerID, _ c: Int?) {
        guard let old = workers[worker]?.checkpoint, old == c else {
            if let old = workers[worker]?.checkpoint { holders[old] -= 1 }
            if let c { holders[c] += 1 }
            workers[worker]?.checkpoint = c
            return
        }
    }

    /// Hands queued units (or speculative copies) to accepting workers with free capacity.
    mutating func dispatch(now: Double, into actions: inout [SchedulerAction]) {
        guard !workers.isEmpty else { return }
        var hungry = workers.filter { $0.value.accepting && $0.value.leases.count < $0.value.capacity }.map(\.key)
        guard !hungry.isEmpty else { return }
        hungry.sort()
        for worker in hungry {
            while let w = workers[worker], w.leases.count < w.capacity {
                if let i = pickQueued(for: w) {
                    issue(i, to: worker, speculative: false, now: now, into: &actions)
                } else if let i = pickSpeculative(for: worker, now: now) {
                    issue(i, to: worker, speculative: true, now: now, into: &actions)
                } else {
                    break
                }
            }
        }
    }

    /// The worker's own checkpoint first; otherwise the best queued checkpoint, preferring
    /// one no other worker holds.
    mutating func pickQueued(for worker: WorkerSlot) -> Int? {
        if let c = worker.checkpoint, let i = popQueue(c) { return i }
        var setAside: [Keyed<Int>] = []
        var chosen: Int?
        while let top = checkpointHeap.min {
            let c = top.index
            cleanHead(c)
            guard let head = queues[c].min, head.key == top.key else {
                checkpointHeap.pop()
                continue
            }
            if holders[c] == 0 {
                chosen = c
                break
            }
            setAside.append(top)
            checkpointHeap.pop()
            if setAside.count >= 32 { break }
        }
        if chosen == nil { chosen = setAside.first?.index }
        for e in setAside { checkpointHeap.push(e) }
        guard let c = chosen else { return nil }
        return popQueue(c)
    }

    mutating func cleanHead(_ c: Int) {
        var changed = false
        while let h = queues[c].min, units[h.index].phase != .queued {
            queues[c].pop()
            changed = true
        }
        if changed, let h = queues[c].min { checkpointHeap.push(Keyed(key: h.key, index: c)) }
    }

    mutating func popQueue(_ c: Int) -> Int? {
        cleanHead(c)
        guard let e = queues[c].pop() else { return nil }
        cleanHead(c)
        if let h = queues[c].min { checkpointHeap.push(Keyed(key: h.key, index: c)) }
        return e.index
    }

    func hasQueued() -> Bool {
        for top in checkpointHeap.items {
            if let h = queues[top.index].min, units[h.index].phase == .queued { return true }
        }
        return false
    }

    /// The longest-running unit with one live copy, none on this worker, running at least
    /// `afterSeconds`; only when nothing is queued.
    func pickSpeculative(for worker: WorkerID, now: Double) -> Int? {
        let s = configuration.speculation
        guard s.enabled, configuration.maxCopies > 1, !leases.isEmpty else { return nil }
        var best: (issuedAt: Double, lease: LeaseID, unit: Int)?
        for (id, l) in leases where l.worker != worker && now - l.issuedAt >= s.afterSeconds {
            let u = units[l.unit]
            guard u.phase == .leased, u.leases.count < configuration.maxCopies,
                  !u.leases.contains(where: { leases[$0]?.worker == worker }) else { continue }
            if best == nil || (l.issuedAt, id) < (best!.issuedAt, best!.lease) { best = (l.issuedAt, id, l.unit) }
        }
        return best?.unit
    }

    mutating func issue(_ i: Int, to worker: WorkerID, speculative: Bool, now: Double, into actions: inout [SchedulerAction]) {
        let id = LeaseID(nextLease)
        nextLease += 1
        let expiresAt = now + configuration.lease.seconds
        leases[id] = LeaseSlot(unit: i, worker: worker, issuedAt: now, expiresAt: expiresAt)
        expiries.push(LeaseExpiry(expiresAt: expiresAt, lease: id))
        units[i].leases.append(id)
        units[i].phase = .leased
        workers[worker]?.leases.insert(id)
        setCheckpoint(worker, units[i].checkpoint)
        stats.assigned += 1
        if speculative { stats.speculative += 1 }
        actions.append(.assign(Assignment(
            lease: id, unit: units[i].id, worker: worker, checkpoint: checkpoints[units[i].checkpoint],
            attempt: units[i].attempts + 1, speculative: speculative)))
    }

    /// Ends a live lease (if it is live and, when given, belongs to unit `i`).
    mutating func endLease(
        _ lease: LeaseID, ifFor i: Int?, outcome: LeaseOutcome, error: String?, into actions: inout [SchedulerAction]
    ) {
        guard let slot = leases[lease], i == nil || slot.unit == i else { return }
        leases[lease] = nil
        units[slot.unit].leases.removeAll { $0 == lease }
        workers[slot.worker]?.leases.remove(lease)
        actions.append(.leaseEnded(unit: units[slot.unit].id, lease: lease, worker: slot.worker, outcome: outcome, error: error))
    }

    mutating func expire(_ lease: LeaseID, now: Double, into actions: inout [SchedulerAction]) {
        guard let slot = leases[lease] else { return }
        let i = slot.unit
        let error = "lease \(lease) expired on worker \(slot.worker) (no heartbeat for \(configuration.lease.seconds) s)"
        stats.expired += 1
        endLease(lease, ifFor: i, outcome: .expired, error: error, into: &actions)
        if units[i].leases.isEmpty, units[i].phase == .leased {
            failed(i, error: error, now: now, into: &actions)
        }
    }

    /// Counts a failed attempt: retry after backoff, or quarantine.
    mutating func failed(_ i: Int, error: String, now: Double, into actions: inout [SchedulerAction]) {
        units[i].attempts += 1
        units[i].lastError = error
        let attempts = units[i].attempts
        if attempts >= configuration.retry.maxAttempts {
            units[i].phase = .quarantined
            remaining -= 1
            stats.quarantined += 1
            actions.append(.quarantine(unit: units[i].id, attempts: attempts, error: error))
        } else {
            let notBefore = now + configuration.retry.backoff(afterFailures: attempts)
            enqueue(i, notBefore: notBefore, now: now)
            actions.append(.requeue(unit: units[i].id, attempts: attempts, error: error, notBefore: notBefore))
        }
    }

    mutating func enqueue(_ i: Int, notBefore: Double, now: Double) {
        if notBefore <= now {
            units[i].phase = .queued
            pushQueued(i)
        } else {
            units[i].phase = .waiting
            units[i].notBefore = notBefore
            delayed.push(Keyed(key: notBefore, index: i))
        }
    }

    mutating func pushQueued(_ i: Int) {
        let c = units[i].checkpoint
        let entry = Keyed(key: units[i].priority, index: i)
        queues[c].push(entry)
        if queues[c].min == entry { checkpointHeap.push(Keyed(key: entry.key, index: c)) }
    }

    /// Drops a worker: its leases expire (eviction, attempt counted) or are released (goodbye).
    mutating func remove(_ worker: WorkerID, reason: String, expired: Bool, now: Double, into actions: inout [SchedulerAction]) {
        guard let w = workers[worker] else { return }
        for lease in w.leases.sorted() {
            if expired {
                expire(lease, now: now, into: &actions)
            } else if let slot = leases[lease] {
                let i = slot.unit
                stats.released += 1
                endLease(lease, ifFor: i, outcome: .released, error: "worker \(reason)", into: &actions)
                if units[i].leases.isEmpty, units[i].phase == .leased {
                    enqueue(i, notBefore: now, now: now)
                    actions.append(.requeue(unit: units[i].id, attempts: units[i].attempts, error: nil, notBefore: now))
                }
            }
        }
        setCheckpoint(worker, nil)
        workers[worker] = nil
    }

    /// Emits `shutDown` once everything is finished, and `armTimer` when the next deadline moved.
    mutating func finish(now: Double, into actions: inout [SchedulerAction]) {
        if remaining == 0, !shutDownSent {
            shutDownSent = true
            actions.append(.shutDown)
        }
        var next = Double.infinity
        while let top = expiries.min, leases[top.lease] == nil { expiries.pop() }
        if let top = expiries.min { next = min(next, top.expiresAt) }
        while let top = delayed.min, units[top.index].phase != .waiting || units[top.index].notBefore != top.key {
            delayed.pop()
        }
        if let top = delayed.min { next = min(next, top.key) }
        var anyHungry = false
        for w in workers.values {
            next = min(next, w.lastSeen + configuration.workerTimeout)
            if w.accepting, w.leases.count < w.capacity { anyHungry = true }
        }
        let s = configuration.speculation
        if anyHungry, s.enabled, configuration.maxCopies > 1, !hasQueued() {
            for l in leases.values where units[l.unit].leases.count < configuration.maxCopies {
                next = min(next, l.issuedAt + s.afterSeconds)
            }
        }
        guard next.isFinite else { return }
        let at = max(next, now)
        if armedAt != at {
            armedAt = at
            actions.append(.armTimer(at: at))
        }
    }
}
