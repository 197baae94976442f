import Foundation
import Testing

/// CURVE end to end through the command line: a worker whose key is not on the coordinator's
/// allow-list gets no unit (and its key is logged); an allowed worker finishes the sweep.
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
    }
}
