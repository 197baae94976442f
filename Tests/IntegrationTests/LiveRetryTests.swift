import Foundation
import Results
import Sweep
import Testing

/// `circuitsweep retry` against a coordinator that keeps running: units quarantined because
/// their checkpoint was missing run again, in the same coordinator process, once the
/// operator put the checkpoint in place and asked for a retry (first by unit id, then the rest).
extension ClusterProcessTests {
    @Suite struct LiveRetryTests {
        @Test(.timeLimit(.minutes(2)))
        func retryRequeuesQuarantinedUnitsInARunningCoordinator() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: """
                results: results
                revisions: [step143000]
                models:
                  - {name: neox-tiny, folder: models/neox-tiny}
                tasks:
                  - {name: pairs-a, examples: task-a.json}
                  - {name: pairs-b, examples: task-b.json}
                analyses:
                  - method: eap-ig-inputs
                    steps: 2
                    circuit: {threshold: 0.8, start: 5, end: 102, step: 5}
                lease: {seconds: 20, heartbeat_seconds: 0.5}
                retry: {max_attempts: 2, backoff_seconds: 0.1, max_backoff_seconds: 0.2}
                """)
            let fm = FileManager.default
            let examples = Cluster.fixtures.appendingPathComponent("examples/neox-tiny.json")
            for task in ["task-a.json", "task-b.json"] {
                try fm.copyItem(at: examples, to: cluster.dir.appendingPathComponent(task))
            }
            let coordinator = try cluster.start(["coordinator", "sweep.yaml", "--bind", cluster.endpoint, "--keep-running",
                                                 "--log-level", "debug"], log: "coordinator.log")
            func startWorker(_ n: Int) throws {
                try cluster.start(["worker", "--connect", cluster.endpoint, "--model-root", cluster.dir.path, "--grace", "2"],
                                  log: "worker\(n).log")
            }
            func retry(_ arguments: [String]) throws -> (status: Int32, output: String) {
                let p = try cluster.start(["retry", "results"] + arguments, log: "retry.log")
                #expect(cluster.wait(p, seconds: 20))
                // The coordinator deletes the requests once applied; a worker started before
                // that would be told the (finished) sweep is over.
                let deadline = Date().addingTimeInterval(10)
                while (try? cluster.journal().retryRequests(after: 0).isEmpty) != true, Date() < deadline { usleep(50_000) }
                #expect(try cluster.journal().retryRequests(after: 0).isEmpty, "the running coordinator did not pick up the retry")
                return (p.terminationStatus, cluster.log("retry.log"))
            }

            // No checkpoint yet: both units fail twice and are quarantined; the coordinator stays up.
            try startWorker(0)
            #expect(cluster.waitForJournal(seconds: 40) { $0.counts[.quarantined] == 2 },
                    "units not quarantined:\n\(cluster.log("coordinator.log").suffix(2000))")
            #expect(coordinator.isRunning)

            let models = cluster.dir.appendingPathComponent("models/neox-tiny")
            try fm.createDirectory(at: models, withIntermediateDirectories: true)
            try fm.createSymbolicLink(at: models.appendingPathComponent("step143000"),
                                      withDestinationURL: Cluster.fixtures.appendingPathComponent("models/neox-tiny"))
            let units = try cluster.journal().units().sorted { $0.task < $1.task }
            #expect(units.map(\.task) == ["pairs-a", "pairs-b"])

            // 1. One unit, by id prefix.
            let first = try retry(["--unit", String(units[0].id.hex.prefix(10))])
            #expect(first.status == 0 && first.output.contains("re-queued 1 quarantined unit"), "\(first.output)")
            try startWorker(1)
            #expect(cluster.waitForJournal(seconds: 40) { $0.counts[.done] == 1 },
                    "retried unit not done:\n\(cluster.log("coordinator.log").suffix(2000))\n\(cluster.log("worker1.log").suffix(1500))")
            var status = try cluster.journal().status(errorLimit: 0)
            #expect(status.counts[.quarantined] == 1, "the other unit stays quarantined: \(status.counts)")

            // 2. The rest; a unit that is done now is named and left alone (exit status 1).
            let second = try retry(["--quarantined", "--unit", units[0].id.hex, "--unit", units[1].id.hex])
            #expect(second.status == 1 && second.output.contains("is done, not quarantined"), "\(second.output)")
            #expect(second.output.contains("re-queued 1 quarantined unit"), "\(second.output)")
            try startWorker(2)
            #expect(cluster.waitForJournal(seconds: 40) { $0.counts[.done] == 2 },
                    "second retry not done:\n\(cluster.log("coordinator.log").suffix(2000))")

            // The same coordinator process did it all; each unit: two failed attempts, one commit.
            #expect(coordinator.isRunning)
            #expect(cluster.log("coordinator.log").components(separatedBy: "units retried").count - 1 == 2)
            let attempts = try cluster.journal().attempts()
            for u in units {
                let outcomes = attempts.filter { $0.unit == u.id.hex }.map(\.outcome)
                #expect(outcomes == ["failed", "failed", "committed"], "\(u.task): \(outcomes)")
                try UnitResultFile.verify(cluster.results.appendingPathComponent(u.resultPath ?? "?"))
            }
            status = try cluster.journal().status(errorLimit: 0)
            #expect(status.liveLeases == 0 && status.counts[.done] == 2)
            kill(coordinator.processIdentifier, SIGTERM)
            #expect(cluster.wait(coordinator, seconds: 10))
        }
    }
}
