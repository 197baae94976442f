import Checksum
import Foundation
import Logging
import Sweep
import ZeroMQ

extension Worker {
    func handle(_ message: WireMessage, on socket: ZMQSocket) throws {
        switch message {
        case .welcome(let m):
            leaseSeconds = m.leaseSeconds
            heartbeatSeconds = m.heartbeatSeconds
            maxChunkBytes = m.maxChunkBytes
        case .assign(let a):
            if draining != nil {
                try send(.release(.init(worker: configuration.workerID, unit: a.unit, lease: a.lease, draining: true)), on: socket)
                return
            }
            checkpoint = a.checkpoint
            if let dataset = datasets[a.datasetHash] {
                compute.enqueue(ComputeJob(assignment: a, dataset: dataset))
            } else if var waiting = waitingForDataset[a.datasetHash] {
                waiting.assignments.append(a)
                waitingForDataset[a.datasetHash] = waiting
            } else {
                waitingForDataset[a.datasetHash] = (now, [a])
                try send(.datasetRequest(.init(worker: configuration.workerID, hash: a.datasetHash)), on: socket)
            }
        case .dataset(let h, let payload):
            guard let waiting = waitingForDataset.removeValue(forKey: h.hash) else { return }
            guard h.found, SHA256Hex.of(payload) == h.hash else {
                for a in waiting.assignments {
                    try send(.failure(.init(worker: configuration.workerID, unit: a.unit, lease: a.lease,
                                            error: "dataset \(h.hash.prefix(12))… unavailable or corrupt")), on: socket)
                }
                return
            }
            datasets[h.hash] = payload
            for a in waiting.assignments { compute.enqueue(ComputeJob(assignment: a, dataset: payload)) }
        case .ack(let m):
            guard let u = unacked[m.lease] else { return }
            switch m.status {
            case .committed, .duplicate, .unknown, .rejected:
                if m.status != .committed {
                    logger.info("result not committed", metadata: ["unit.id": "\(m.unit)", "status": "\(m.status.rawValue)"])
                }
                if configuration.sharedResults == nil || m.status != .committed {
                    discardCopy(u)
                }
                unacked[m.lease] = nil
            case .resend:
                try ship(u, on: socket)
            }
        case .cancel(let m):
            cancelled.insert(m.lease)
            compute.cancel(m.lease)
            if let u = unacked.removeValue(forKey: m.lease) { discardCopy(u) }
            for (hash, var waiting) in waitingForDataset {
                waiting.assignments.removeAll { $0.lease == m.lease }
                waitingForDataset[hash] = waiting.assignments.isEmpty ? nil : waiting
            }
        case .shutdown(let m):
            // Every unit is done or quarantined: whatever is still queued, running or
            // unacknowledged here is a duplicate.
            logger.info("coordinator shut down", metadata: ["reason": "\(m.reason)"])
            _ = compute.drainQueued()
            _ = compute.cancelCurrent()
            for u in unacked.values where configuration.sharedResults == nil { discardCopy(u) }
            unacked.removeAll()
            exitReason = .sweepFinished
        case .hello, .ready, .heartbeat, .datasetRequest, .resultChunk, .resultCommit, .failure, .release, .bye:
            logger.warning("dropped a coordinator-bound message", metadata: ["type": "\(message.kind.rawValue)"])
        }
    }

    /// Ships what the compute thread finished.
    func shipOutcomes(on socket: ZMQSocket) throws {
        for outcome in compute.takeOutcomes() {
            switch outcome {
            case .finished(let a, let file, let bytes, let sha, let size):
                let u = Unacked(assignment: a, file: file, bytes: bytes, sha256: sha, size: size, sentAt: now, resends: 0)
                if cancelled.contains(a.lease) {
                    discardCopy(u)
                    continue
                }
                unacked[a.lease] = u
                try ship(u, on: socket)
            case .failed(let a, let error):
                guard !cancelled.contains(a.lease) else { continue }
                try send(.failure(.init(worker: configuration.workerID, unit: a.unit, lease: a.lease, error: error)), on: socket)
            case .cancelled(let a):
                if !cancelled.contains(a.lease) {
                    // Cancelled by our own shutdown: give the unit back.
                    try send(.release(.init(worker: configuration.workerID, unit: a.unit, lease: a.lease, draining: true)), on: socket)
                }
            }
        }
    }

    /// Sends a finished result: chunks then commit, or just the commit with shared results.
    func ship(_ u: Unacked, on socket: ZMQSocket) throws {
        let a = u.assignment
        let me = configuration.workerID
        var chunks = 0
        if configuration.sharedResults == nil {
            let data: Data
            do {
                data = try u.bytes.map { Data($0) } ?? Data(contentsOf: u.file, options: .alwaysMapped)
            } catch {
                unacked[a.lease] = nil
                try send(.failure(.init(worker: me, unit: a.unit, lease: a.lease, error: "result file vanished: \(error)")), on: socket)
                return
            }
            let size = max(1024, maxChunkBytes)
            chunks = max(1, (data.count + size - 1) / size)
            for i in 0..<chunks {
                let lower = i * size, upper = min(data.count, lower + size)
                try send(.resultChunk(.init(worker: me, unit: a.unit, lease: a.lease, index: i, count: chunks),
                                      payload: [UInt8](data[lower..<upper])), on: socket)
            }
        }
        try send(.resultCommit(.init(worker: me, unit: a.unit, lease: a.lease, sha256: u.sha256, size: u.size,
                                     chunks: chunks, shared: configuration.sharedResults != nil)), on: socket)
        unacked[a.lease]?.sentAt = now
        unacked[a.lease]?.resends += 1
    }

    /// Heartbeats, re-sends, dataset re-requests and graceful shutdown.
    func housekeeping(on socket: ZMQSocket) throws {
        let t = now
        if t - lastHeartbeat >= heartbeatSeconds {
            lastHeartbeat = t
            try send(.heartbeat(.init(worker: configuration.workerID, capacity: configuration.capacity,
                                      checkpoint: checkpoint, leases: Array(heldLeases.prefix(4096)))), on: socket)
        }
        // Unacknowledged results (e.g. the coordinator restarted): send again.
        let resendAfter = max(2 * heartbeatSeconds, min(leaseSeconds / 2, 10))
        for (lease, u) in unacked where t - u.sentAt >= resendAfter {
            _ = lease
            try ship(u, on: socket)
        }
        for (hash, waiting) in waitingForDataset where t - waiting.requested >= 5 {
            waitingForDataset[hash]?.requested = t
            try send(.datasetRequest(.init(worker: configuration.workerID, hash: hash)), on: socket)
        }
        if stopToken.isStopped, draining == nil {
            draining = t + configuration.gracePeriod
            logger.info("worker draining", metadata: ["grace.seconds": "\(configuration.gracePeriod)"])
            for job in compute.drainQueued() {
                try send(.release(.init(worker: configuration.workerID, unit: job.assignment.unit,
                                        lease: job.assignment.lease, draining: true)), on: socket)
            }
            for (_, waiting) in waitingForDataset {
                for a in waiting.assignments {
                    try send(.release(.init(worker: configuration.workerID, unit: a.unit, lease: a.lease, draining: true)), on: socket)
                }
            }
            waitingForDataset.removeAll()
        }
        if let deadline = draining {
            if !compute.isBusy, unacked.isEmpty {
                exitReason = .stopped
            } else if t >= deadline {
                if let a = compute.cancelCurrent() {
                    cancelled.insert(a.lease)
                    try send(.release(.init(worker: configuration.workerID, unit: a.unit, lease: a.lease, draining: true)), on: socket)
                }
                exitReason = .stopped
            }
        }
    }
}
