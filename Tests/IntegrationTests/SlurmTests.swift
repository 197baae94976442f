import Foundation
import Sweep
import Testing

/// The Slurm launch scripts (cluster/slurm) against a real Slurm 22.05 of four nodes on this host
/// (``SlurmCluster``): workers as a job array, the coordinator as a job, and `scancel` of a worker
/// mid-unit. Skipped, with the reason printed, when not root or Slurm/munge are not installed.
extension ClusterProcessTests {
    @Suite(.serialized) struct SlurmTests {
        static let scripts = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("cluster/slurm")

        static func script(_ name: String) -> String { scripts.appendingPathComponent(name).path }

        /// coordinator.sbatch on 127.0.0.1, and workers.sbatch as `--array=0-3`: one worker on each
        /// node (3 CPUs per node, 2 per worker). The sweep mixes noop, sleep and real EAP-IG units
        /// on the fixture models; every job completes, every unit is done once and verifies.
        @Test(.timeLimit(.minutes(2)))
        func coordinatorJobAndWorkerArrayFinishASweep() throws {
            guard let binary = Binary.url else { _ = Binary.available; return }
            let slurm = SlurmCluster()
            guard slurm.setUp(cpusPerNode: 3) else { return }
            // The fixture sweep (3 revisions × 2 tasks) with three analyses: EAP-IG, noop and sleep.
            let cluster = try Cluster(fixtureSweepWithSteps: 5, leaseSeconds: 20, heartbeatSeconds: 0.5,
                                      moreAnalyses: "  - method: noop\n  - method: sleep\n    seconds: 0.3\n")
            let units = 3 * 2 * 3
            var environment = ["CIRCUITSWEEP": binary.path, "BIND_HOST": "127.0.0.1"]

            let coordinator = try slurm.sbatch([Self.script("coordinator.sbatch"), "sweep.yaml", "\(cluster.port)", "--log-level", "debug"],
                                               environment: environment, directory: cluster.dir)
            let coordinatorLog = "circuitsweep-coordinator-\(coordinator).out"
            #expect(Command.waitUntil(seconds: 30) { cluster.log(coordinatorLog).contains("coordinator listening") },
                    "the coordinator job did not start listening: \(slurm.jobs())\n\(cluster.log(coordinatorLog))")
            let advertised = cluster.log(coordinatorLog).split(separator: "\n").first { $0.hasPrefix("COORDINATOR=") }
            #expect(advertised == "COORDINATOR=\(cluster.endpoint)", "\(cluster.log(coordinatorLog).prefix(500))")

            environment["COORDINATOR"] = cluster.endpoint
            let array = try slurm.sbatch(["--array=0-3", Self.script("workers.sbatch"), "--model-root", cluster.dir.path,
                                          "--capacity", "1", "--log-level", "debug"],
                                         environment: environment, directory: cluster.dir)
            let tasks = (0..<4).map { "\(array)_\($0)" }
            #expect(Command.waitUntil(seconds: 100) { slurm.state(coordinator) == "COMPLETED" },
                    "coordinator job: \(slurm.state(coordinator) ?? "?")\n\(cluster.log(coordinatorLog).suffix(3000))")
            // Workers leave on the coordinator's shutdown, so their jobs complete too.
            #expect(Command.waitUntil(seconds: 20) { tasks.allSatisfy { slurm.state($0) == "COMPLETED" } },
                    "worker tasks: \(slurm.jobs())\n\(cluster.log("circuitsweep-worker-\(array)_0.out").suffix(2000))")
            let nodes = Set(slurm.jobs().filter { tasks.contains($0.id) }.map(\.node))
            #expect(nodes == Set(slurm.nodes), "one worker per node: \(slurm.jobs())")
            try cluster.expectAllDoneOnce(units: units)
            let workers = Set(try cluster.journal().attempts().filter { $0.outcome == "committed" }.map(\.worker))
            #expect(workers.count >= 2, "the array shared the work: \(workers)")
            let verify = try cluster.start(["verify", "results"], log: "verify.log")
            #expect(cluster.wait(verify, seconds: 30) && verify.terminationStatus == 0, "verify failed:\n\(cluster.log("verify.log"))")
        }

        /// `scancel` of a worker task mid-unit: Slurm sends SIGTERM to the job's processes, the
        /// worker releases its unit within its grace period (1 s, under KillWait) and exits cleanly;
        /// the unit is reassigned and the other worker finishes the sweep, every unit done once.
        @Test(.timeLimit(.minutes(2)))
        func scancelOfAWorkerMidUnitReleasesItWithinKillWait() throws {
            guard let binary = Binary.url else { _ = Binary.available; return }
            let slurm = SlurmCluster()
            guard slurm.setUp() else { return }
            // 2.5 s units and a 1 s grace: the running unit cannot finish, so it is released.
            let cluster = try Cluster(yaml: Cluster.sweep(units: 2, method: "sleep", seconds: 2.5, lease: 10, tasks: 2))
            let coordinator = try cluster.startCoordinator()
            let array = try slurm.sbatch(["--array=0-1", Self.script("workers.sbatch"), "--capacity", "1"],
                                         environment: ["CIRCUITSWEEP": binary.path, "COORDINATOR": cluster.endpoint, "GRACE": "1"],
                                         directory: cluster.dir)
            let (victim, survivor) = ("\(array)_0", "\(array)_1")
            #expect(cluster.waitForJournal(seconds: 30) { $0.liveLeases == 2 },
                    "both workers did not get a unit: \(slurm.jobs())\n\(cluster.log("coordinator.log").suffix(2000))")
            usleep(500_000)
            let cancelled = Date()
            let scancel = slurm.client("scancel", [victim])
            #expect(scancel.succeeded, "\(scancel.text)")
            let victimLog = "circuitsweep-worker-\(victim).out"
            #expect(Command.waitUntil(seconds: Double(SlurmCluster.killWait) + 5) { cluster.log(victimLog).contains("worker exiting") },
                    "the worker did not exit by itself:\n\(cluster.log(victimLog).suffix(2000))")
            let exitSeconds = Date().timeIntervalSince(cancelled)
            #expect(exitSeconds < Double(SlurmCluster.killWait), "exited \(exitSeconds) s after scancel, past KillWait")
            #expect(cluster.log(victimLog).contains("worker draining"), "no SIGTERM handling:\n\(cluster.log(victimLog).suffix(2000))")
            #expect(Command.waitUntil(seconds: 10) { slurm.state(victim) == "CANCELLED" }, "\(slurm.jobs())")
            let outcomes = try cluster.journal().attempts().compactMap(\.outcome)
            #expect(outcomes.contains("released"), "the cancelled worker released nothing: \(outcomes)")

            #expect(cluster.wait(coordinator, seconds: 60), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 4)
            #expect(Command.waitUntil(seconds: 20) { slurm.state(survivor) == "COMPLETED" }, "\(slurm.jobs())")
        }
    }
}
