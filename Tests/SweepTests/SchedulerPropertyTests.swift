import PropertyBased
import Testing
@testable import Sweep

/// Random worker deaths, freezes past the lease, delayed and duplicated results, failures.
/// Invariants: at most `maxCopies` leases per unit; no unit committed twice; in the end
/// every unit is done exactly once or quarantined, committed results stay done, no leases left.
@Suite struct SchedulerPropertyTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct SimWorker {
        var id: WorkerID
        var capacity: Int
        var alive = true
        var frozenUntil = 0.0
        var lastHeartbeat = 0.0
        var tasks: [(lease: LeaseID, unit: UnitID, doneAt: Double)] = []
    }

    struct Message {
        var deliverAt: Double
        var worker: WorkerID
        var lease: LeaseID
        var unit: UnitID
    }

    static func simulate(seed: UInt64) {
        var rng = SplitMix(state: seed)
        let n = Int.random(in: 1...60, using: &rng)
        let checkpoints = Int.random(in: 1...8, using: &rng)
        let speculation = Bool.random(using: &rng)
        let config = SchedulerConfiguration(
            lease: LeasePolicy(seconds: 10, heartbeatSeconds: 2),
            retry: RetryPolicy(maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 8),
            speculation: SpeculationPolicy(enabled: speculation, afterSeconds: 6))
        var h = Harness(units: Harness.units(n, checkpoints: checkpoints), configuration: config)
        var workers: [WorkerID: SimWorker] = [:]
        var nextWorker = 0
        var inFlight: [Message] = []
        var committedOnce = Set<UnitID>()

        func absorb(_ actions: [SchedulerAction]) {
            for a in actions {
                switch a {
                case .assign(let x):
                    #expect(h.scheduler.leases(of: x.unit).count <= config.maxCopies)
                    let duration = Double.random(in: 0.5...9, using: &rng)
                    workers[x.worker]?.tasks.append((x.lease, x.unit, h.now + duration))
                case .commit(let u, _, _, _):
                    #expect(!committedOnce.contains(u), "unit \(u) committed twice (seed \(seed))")
                    committedOnce.insert(u)
                case .cancel(let w, let l, _):
                    workers[w]?.tasks.removeAll { $0.lease == l }
                default: break
                }
            }
            h.take(actions)
        }

        func spawn() {
            let w = SimWorker(id: WorkerID("w\(nextWorker)"), capacity: Int.random(in: 1...3, using: &rng), lastHeartbeat: h.now)
            nextWorker += 1
            workers[w.id] = w
            absorb(h.scheduler.onWorkerJoined(w.id, capacity: w.capacity, checkpoint: nil, now: h.now))
        }
        let initial = Int.random(in: 1...4, using: &rng)
        for _ in 0..<initial { spawn() }

        var steps = 0
        while !(h.scheduler.isFinished && inFlight.isEmpty), steps < 20_000 {
            steps += 1
            h.now += 0.5
            // Chaos.
            let roll = Double.random(in: 0..<1, using: &rng)
            let liveIDs = workers.values.filter(\.alive).map(\.id).sorted()
            if roll < 0.01, let victim = liveIDs.randomElement(using: &rng) {
                workers[victim]?.alive = false  // SIGKILL: nothing more from it
                workers[victim]?.tasks = []
                spawn()
            } else if roll < 0.02, let victim = liveIDs.randomElement(using: &rng) {
                workers[victim]?.frozenUntil = h.now + Double.random(in: 5...30, using: &rng)  // SIGSTOP
            }
            if workers.values.filter({ $0.alive }).isEmpty { spawn() }
            // Workers act.
            for id in workers.keys.sorted() {
                guard var w = workers[id], w.alive, w.frozenUntil <= h.now else { continue }
                if h.now - w.lastHeartbeat >= 2 {
                    w.lastHeartbeat = h.now
                    workers[id] = w
                    absorb(h.scheduler.onHeartbeat(id, capacity: w.capacity, checkpoint: nil, leases: w.tasks.map(\.lease), now: h.now))
                    guard let updated = workers[id] else { continue }
                    w = updated
                }
                let due = w.tasks.filter { $0.doneAt <= h.now }
                workers[id]?.tasks.removeAll { $0.doneAt <= h.now }
                for t in due {
                    let r = Double.random(in: 0..<1, using: &rng)
                    if r < 0.08 {
                        absorb(h.scheduler.onFailure(id, lease: t.lease, unit: t.unit, error: "boom", now: h.now))
                    } else {
                        let delay = r < 0.2 ? Double.random(in: 1...25, using: &rng) : 0
                        inFlight.append(Message(deliverAt: h.now + delay, worker: id, lease: t.lease, unit: t.unit))
                        if r > 0.95 {  // duplicated delivery
                            inFlight.append(Message(deliverAt: h.now + 1, worker: id, lease: t.lease, unit: t.unit))
                        }
                    }
                }
            }
            // The network delivers.
            let ready = inFlight.filter { $0.deliverAt <= h.now }
            inFlight.removeAll { $0.deliverAt <= h.now }
            for m in ready {
                absorb(h.scheduler.onResult(m.worker, lease: m.lease, unit: m.unit, sha256: String(repeating: "a", count: 64), now: h.now))
            }
            if let t = h.timer, t <= h.now { absorb(h.scheduler.onTick(now: h.now)) }
        }
        #expect(steps < 20_000, "did not finish (seed \(seed))")
        #expect(h.scheduler.liveLeaseCount == 0, "orphaned leases (seed \(seed))")
        #expect(h.shutDown == 1)
        for i in 0..<n {
            let u = uid(i)
            let state = h.scheduler.state(of: u)
            #expect(state == .done || state == .quarantined, "unit \(i) ended \(String(describing: state)) (seed \(seed))")
            #expect((state == .done) == committedOnce.contains(u), "seed \(seed)")
        }
    }

    @Test func randomChaosKeepsTheInvariants() async {
        await propertyCheck(count: 150, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            Self.simulate(seed: seed)
        }
    }

    @Test(arguments: [0, 1, 2, 3, 42, 1234] as [UInt64])
    func fixedSeeds(_ seed: UInt64) {
        Self.simulate(seed: seed)
    }
}
