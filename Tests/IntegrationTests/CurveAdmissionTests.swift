import Checksum
import Foundation
import Sweep
import Testing
import ZeroMQ

/// CURVE end to end through the command line: a worker whose key is not on the coordinator's
/// allow-list gets no unit (and its key is logged); an allowed key cannot speak for a worker id
/// another key owns; an allowed worker finishes the sweep.
extension ClusterProcessTests {
    @Suite struct CurveAdmissionTests {
        @Test(.timeLimit(.minutes(1)))
        func workerWithUnknownKeyGetsNoUnit() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: Cluster.sweep(units: 3, method: "noop", tasks: 1))
            func run(_ arguments: [String], log: String) throws {
                let p = try cluster.start(arguments, log: log)
                #expect(cluster.wait(p, seconds: 20) && p.terminationStatus == 0, "\(arguments): \(cluster.log(log))")
            }
            try run(["keys", "generate", "--out", "keys", "--workers", "1"], log: "keys.log")
            try run(["keys", "generate", "--out", "rogue", "--workers", "1"], log: "rogue.log")
            // The rogue worker knows the real server key but holds a key pair nobody allowed.
            let fm = FileManager.default
            try fm.removeItem(at: cluster.dir.appendingPathComponent("rogue/coordinator.pub"))
            try fm.copyItem(at: cluster.dir.appendingPathComponent("keys/coordinator.pub"),
                            to: cluster.dir.appendingPathComponent("rogue/coordinator.pub"))
            let rogueKey = try String(contentsOf: cluster.dir.appendingPathComponent("rogue/worker-001.pub"), encoding: .utf8)
                .split(separator: "\n").compactMap { line in line.hasPrefix("public-key") ? line.split(separator: "=").last : nil }
                .first.map { $0.trimmingCharacters(in: .whitespaces) }

            let coordinator = try cluster.start(["coordinator", "sweep.yaml", "--bind", cluster.endpoint,
                                                 "--curve-keys", "keys", "--log-level", "debug"], log: "coordinator.log")
            try cluster.start(["worker", "--connect", cluster.endpoint, "--curve-keys", "rogue", "--grace", "1"], log: "rogue-worker.log")
            usleep(3_000_000)
            let before = try cluster.journal().status(errorLimit: 0)
            #expect(before.liveLeases == 0, "the rogue worker holds a lease")
            #expect((before.counts[.done] ?? 0) == 0, "a unit finished without an allowed worker")
            let key = try #require(rogueKey)
            #expect(cluster.log("coordinator.log").contains(key), "the refusal does not name the key:\n\(cluster.log("coordinator.log").suffix(1500))")

            try cluster.start(["worker", "--connect", cluster.endpoint, "--curve-keys", "keys", "--grace", "1"], log: "worker.log")
            #expect(cluster.wait(coordinator, seconds: 30), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 3)
        }

        /// Worker A (key 1) takes a lease and drops its connection; a peer holding allow-listed
        /// key 2 then reconnects under A's routing id and sends a heartbeat and a forged result
        /// for A's lease. The coordinator refuses both (logged with both keys), and after a
        /// coordinator restart still refuses key 2 as A (the binding is journaled); A's lease ends
        /// uncommitted, and an honest worker finishes the sweep with results that verify.
        @Test(.timeLimit(.minutes(1)))
        func anotherAllowedKeyCannotSpeakForAWorker() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: Cluster.sweep(units: 3, method: "noop", lease: 2, tasks: 1))
            let keys = try cluster.start(["keys", "generate", "--out", "keys", "--workers", "2"], log: "keys.log")
            #expect(cluster.wait(keys, seconds: 20) && keys.terminationStatus == 0, "\(cluster.log("keys.log"))")
            let dir = cluster.dir.appendingPathComponent("keys")
            let serverKey = try CurveKeyFile.readPublicKey(at: dir.appendingPathComponent("coordinator.pub"))
            let owner = try CurveKeyFile.readKeyPair(at: dir.appendingPathComponent("worker-001.key"))
            let thief = try CurveKeyFile.readKeyPair(at: dir.appendingPathComponent("worker-002.key"))

            func startCoordinator(log: String) throws -> Process {
                let process = try cluster.start(["coordinator", "sweep.yaml", "--bind", cluster.endpoint,
                                                 "--curve-keys", "keys", "--log-level", "debug"], log: log)
                let listening = Date().addingTimeInterval(15)
                while !cluster.log(log).contains("coordinator listening"), Date() < listening { usleep(50_000) }
                return process
            }
            var coordinator = try startCoordinator(log: "coordinator.log")

            let codec = WireCodec()
            let context = try ZMQContext()
            let worker = WorkerID("victim-1")
            func peer(_ keyPair: CurveKeyPair) throws -> ZMQSocket {
                var options = SocketOptions()
                options.curve = .client(serverKey: serverKey, keyPair: keyPair)
                options.routingID = Data(worker.value.utf8)
                options.linger = .seconds(1)
                let socket = try ZMQSocket(context: context, type: .dealer, options: options)
                try socket.connect(cluster.endpoint)
                return socket
            }
            func send(_ message: WireMessage, on socket: ZMQSocket) throws {
                #expect(try socket.send(codec.encode(message).map { Data($0) }, timeout: .seconds(5)))
            }
            /// Messages received within `seconds`.
            func replies(on socket: ZMQSocket, seconds: Double) throws -> [WireMessage] {
                var out: [WireMessage] = []
                let deadline = Date().addingTimeInterval(seconds)
                while Date() < deadline {
                    if let frames = try socket.receive(timeout: .milliseconds(100)),
                       let m = try? codec.decode(frames.map { [UInt8]($0) }) { out.append(m) }
                }
                return out
            }

            // The owner joins with key 1 and takes a unit, then its connection goes away.
            let victim = try peer(owner)
            try send(.hello(.init(worker: worker, host: "victim", pid: 1, capacity: 1, checkpoint: nil,
                                  sharedResults: false, software: "test")), on: victim)
            var assignment: WireMessage.Assign?
            let assigned = Date().addingTimeInterval(10)
            while assignment == nil, Date() < assigned {
                if let frames = try victim.receive(timeout: .milliseconds(200)),
                   case .assign(let a) = try codec.decode(frames.map { [UInt8]($0) }) { assignment = a }
            }
            let lease = try #require(assignment, "the owner got no unit:\n\(cluster.log("coordinator.log").suffix(1500))")
            try victim.close()
            usleep(300_000)

            // Key 2 takes over the routing id and claims the lease with a forged result.
            let thiefSocket = try peer(thief)
            let forged: [UInt8] = Array("not a unit result".utf8)
            try send(.heartbeat(.init(worker: worker, capacity: 1, checkpoint: nil, leases: [lease.lease])), on: thiefSocket)
            try send(.resultChunk(.init(worker: worker, unit: lease.unit, lease: lease.lease, index: 0, count: 1),
                                  payload: forged), on: thiefSocket)
            try send(.resultCommit(.init(worker: worker, unit: lease.unit, lease: lease.lease, sha256: SHA256Hex.of(forged),
                                         size: forged.count, chunks: 1, shared: false)), on: thiefSocket)
            let acks = try replies(on: thiefSocket, seconds: 1.5).compactMap { m -> WireMessage.Ack? in
                if case .ack(let a) = m { a } else { nil }
            }
            #expect(acks.isEmpty, "the coordinator answered the forged result: \(acks)")
            let log = cluster.log("coordinator.log")
            #expect(log.contains("belongs to key \(owner.publicKey.z85); refused a message signed by key \(thief.publicKey.z85)"),
                    "the refusal is not logged with both keys:\n\(log.suffix(2000))")
            try thiefSocket.close()

            // The binding is journaled: after a coordinator restart key 2 still cannot be worker A.
            kill(coordinator.processIdentifier, SIGKILL)
            coordinator.waitUntilExit()
            coordinator = try startCoordinator(log: "coordinator2.log")
            let impostor = try peer(thief)
            try send(.hello(.init(worker: worker, host: "thief", pid: 2, capacity: 1, checkpoint: nil,
                                  sharedResults: false, software: "test")), on: impostor)
            let afterRestart = try replies(on: impostor, seconds: 1.5)
            #expect(afterRestart.isEmpty, "the restarted coordinator answered another key as \(worker): \(afterRestart)")
            #expect(cluster.log("coordinator2.log").contains("belongs to key \(owner.publicKey.z85); refused a message signed by key \(thief.publicKey.z85)"),
                    "the restarted coordinator did not refuse key 2:\n\(cluster.log("coordinator2.log").suffix(2000))")
            try impostor.close()

            // Key 2 under its own worker id is welcome: it finishes the sweep, A's unit included.
            try cluster.start(["worker", "--connect", cluster.endpoint, "--curve-keys", "keys", "--curve-name", "worker-002",
                               "--grace", "1"], log: "worker.log")
            #expect(cluster.wait(coordinator, seconds: 30), "coordinator did not finish:\n\(cluster.log("coordinator2.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 3)
            // A's lease ended without a commit: it expired, or the restart interrupted it.
            let owners = try cluster.journal().attempts().filter { $0.worker == worker.value }.map(\.outcome)
            #expect(owners.count == 1 && ["expired", "interrupted"].contains(owners[0] ?? ""),
                    "the owner's lease did not end uncommitted: \(owners)")
            let verify = try cluster.start(["verify", "results"], log: "verify.log")
            #expect(cluster.wait(verify, seconds: 20) && verify.terminationStatus == 0, "verify failed:\n\(cluster.log("verify.log"))")
        }
    }
}
