import Checksum
import Foundation
import Logging
import Sweep
import ZeroMQ

extension Coordinator {
    /// Decodes one ROUTER message and feeds it to the scheduler. Bad messages are counted,
    /// logged and dropped.
    func handle(_ received: ReceivedMessage) {
        guard received.frames.count >= 2 else { return drop("frames", detail: "no routing id") }
        let routing = received.frames[0]
        let message: WireMessage
        do {
            message = try codec.decode(received.frames.dropFirst().map { [UInt8]($0) })
        } catch {
            return drop(error.label, detail: error.description)
        }
        guard let worker = message.worker else {
            return drop("direction", detail: "coordinator-bound message of type \(message.kind.rawValue)")
        }
        guard routing == Data(worker.value.utf8) else {
            return drop("identity", detail: "worker '\(worker)' sent from another routing id")
        }
        guard admit(received, worker: worker) else { return }
        let t = now
        switch message {
        case .hello(let m):
            knownWorkers.insert(worker)
            if m.sharedResults { sharedResults.insert(worker) } else { sharedResults.remove(worker) }
            changes.append(.workerSeen(id: worker.value, host: m.host, pid: m.pid, capacity: m.capacity, at: wallNow))
            logger.info("worker joined", metadata: ["worker.id": "\(worker)", "worker.host": "\(m.host)",
                                                   "worker.capacity": "\(m.capacity)"])
            outbox.append((worker, .welcome(.init(leaseSeconds: configuration.spec.lease.seconds,
                                                  heartbeatSeconds: configuration.spec.lease.heartbeatSeconds,
                                                  maxChunkBytes: min(1 << 20, configuration.limits.maxChunkBytes)))))
            if finished { outbox.append((worker, .shutdown(.init(reason: "sweep finished")))) }
            absorb(scheduler.onWorkerJoined(worker, capacity: m.capacity, checkpoint: m.checkpoint, now: t))
        case .ready(let m):
            noteSeen(worker, capacity: m.capacity)
            absorb(scheduler.onWorkerReady(worker, capacity: m.capacity, checkpoint: m.checkpoint, now: t))
        case .heartbeat(let m):
            noteSeen(worker, capacity: m.capacity)
            if finished { outbox.append((worker, .shutdown(.init(reason: "sweep finished")))) }
            absorb(scheduler.onHeartbeat(worker, capacity: m.capacity, checkpoint: m.checkpoint, leases: m.leases, now: t))
        case .datasetRequest(let m):
            let bytes = datasets[m.hash]
            outbox.append((worker, .dataset(.init(hash: m.hash, found: bytes != nil), payload: bytes ?? [])))
        case .resultChunk(let m, let payload):
            if case .inconsistent(let why) = assembler.add(m, payload: payload, now: t) {
                drop("chunk", detail: why)
            }
        case .resultCommit(let m):
            handleCommit(m, now: t)
        case .failure(let m):
            logger.info("unit failed", metadata: ["unit.id": "\(m.unit)", "worker.id": "\(worker)", "error": "\(m.error)"])
            absorb(scheduler.onFailure(worker, lease: m.lease, unit: m.unit, error: m.error, now: t))
        case .release(let m):
            absorb(scheduler.onRelease(worker, lease: m.lease, unit: m.unit, draining: m.draining, now: t))
        case .bye(let m):
            logger.info("worker left", metadata: ["worker.id": "\(worker)", "reason": "\(m.reason)"])
            assembler.dropAll(worker: worker)
            knownWorkers.remove(worker)
            changes.append(.workerGone(id: worker.value, reason: m.reason, at: wallNow))
            absorb(scheduler.onWorkerLeft(worker, now: t))
        case .welcome, .assign, .dataset, .ack, .cancel, .shutdown:
            drop("direction", detail: "worker-bound message of type \(message.kind.rawValue)")
        }
    }

    /// Binds each worker id to the CURVE key that first spoke for it (the ZAP `User-Id`), so
    /// another allow-listed key cannot claim that id and its leases, not even after a coordinator
    /// restart (the binding is journaled): its messages are counted
    /// (`wire.drop.key`), logged with both keys, and dropped. Without CURVE there is no key
    /// and every message passes.
    /// - Returns: whether the message may be handled.
    func admit(_ received: ReceivedMessage, worker: WorkerID) -> Bool {
        guard let key = received.userID else { return true }
        guard let owner = workerKeys[worker] else {
            workerKeys[worker] = key
            changes.append(.workerKeyBound(id: worker.value, key: key, at: wallNow))
            return true
        }
        guard owner == key else {
            drop("key", detail: "worker '\(worker)' belongs to key \(owner); refused a message signed by key \(key)"
                 + " from \(received.peerAddress ?? "?")")
            return false
        }
        return true
    }

    func noteSeen(_ worker: WorkerID, capacity: Int) {
        if knownWorkers.insert(worker).inserted {
            changes.append(.workerSeen(id: worker.value, host: "", pid: 0, capacity: capacity, at: wallNow))
        }
    }

    func drop(_ label: String, detail: String) {
        dropped += 1
        dropCounts[label, default: 0] += 1
        changes.append(.counter(name: "wire.drop.\(label)", delta: 1))
        // Log the first few of each kind, then every 1000th.
        let n = dropCounts[label] ?? 0
        if n <= 5 || n % 1000 == 0 {
            logger.warning("dropped a bad message", metadata: ["wire.error": "\(label)", "detail": "\(detail)", "count": "\(n)"])
        }
    }

    /// Reassembles (or, with shared results, reads the staged file), verifies the SHA-256,
    /// and hands the result to the scheduler.
    func handleCommit(_ m: WireMessage.ResultCommit, now t: Double) {
        guard let planned = planned(m.unit) else {
            assembler.drop(.init(worker: m.worker, lease: m.lease))
            outbox.append((m.worker, .ack(.init(unit: m.unit, lease: m.lease, status: .unknown))))
            return
        }
        if m.shared {
            let staging = ResultStore.stagingPath(for: planned.resultPath, lease: m.lease)
            switch store.verify(staging, sha256: m.sha256) {
            case .matches:
                break
            case .missing:
                outbox.append((m.worker, .ack(.init(unit: m.unit, lease: m.lease, status: .resend,
                                                    detail: "staged file \(staging) not visible to the coordinator"))))
                return
            case .corrupt(let why):
                store.discard(staging: staging)
                outbox.append((m.worker, .ack(.init(unit: m.unit, lease: m.lease, status: .resend, detail: why))))
                return
            }
            pendingCommits[m.lease] = .staged(staging)
        } else {
            guard let bytes = assembler.take(worker: m.worker, lease: m.lease, unit: m.unit, chunks: m.chunks) else {
                outbox.append((m.worker, .ack(.init(unit: m.unit, lease: m.lease, status: .resend, detail: "chunks missing"))))
                return
            }
            let sha = SHA256Hex.of(bytes)
            guard sha == m.sha256, bytes.count == m.size else {
                drop("checksum", detail: "unit \(m.unit) lease \(m.lease): SHA-256 or size mismatch")
                outbox.append((m.worker, .ack(.init(unit: m.unit, lease: m.lease, status: .resend, detail: "checksum mismatch"))))
                return
            }
            pendingCommits[m.lease] = .bytes(bytes)
        }
        absorb(scheduler.onResult(m.worker, lease: m.lease, unit: m.unit, sha256: m.sha256, now: t))
        // Anything not consumed by a commit action (a discard) is dropped here.
        if let leftover = pendingCommits.removeValue(forKey: m.lease), case .staged(let staging) = leftover {
            store.discard(staging: staging)
        }
    }
}
