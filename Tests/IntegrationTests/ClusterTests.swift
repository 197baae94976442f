import Foundation
import Sweep
import Testing

/// Coordinator and worker processes over tcp://127.0.0.1, with chaos. Each test is bounded
/// (< 60 s) and kills what it started by pid.
extension ClusterProcessTests {
    @Suite(.serialized, .enabled(if: Binary.available, "needs the built circuitsweep binary"))
    struct ClusterTests {
        @Test(.timeLimit(.minutes(1)))
        func threeWorkersFinishANoopSweep() throws {
            let cluster = try Cluster(yaml: Cluster.sweep(units: 30, method: "noop"))
            let coordinator = try cluster.startCoordinator()
            for i in 0..<3 { try cluster.startWorker(i, capacity: 2) }
            #expect(cluster.wait(coordinator, seconds: 40), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            #expect(coordinator.terminationStatus == 0)
            try cluster.expectAllDoneOnce(units: 60)
            // Workers leave on the coordinator's shutdown.
            for p in cluster.processes.dropFirst() { #expect(cluster.wait(p, seconds: 20)) }
        }

        @Test(.timeLimit(.minutes(1)))
        func sigkillOfAWorkerMidUnitIsRecovered() throws {
            let cluster = try Cluster(yaml: Cluster.sweep(units: 6, method: "sleep", seconds: 0.4, lease: 1.5))
            let coordinator = try cluster.startCoordinator()
            let victim = try cluster.startWorker(0)
            try cluster.startWorker(1)
            try cluster.startWorker(2)
            #expect(cluster.waitForJournal(seconds: 15) { $0.liveLeases >= 3 })
            kill(victim.processIdentifier, SIGKILL)
            #expect(cluster.wait(coordinator, seconds: 45), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 12)
            let outcomes = try cluster.journal().attempts().compactMap(\.outcome)
            #expect(outcomes.contains("expired"), "the killed worker's lease expired: \(outcomes)")
        }

        @Test(.timeLimit(.minutes(1)))
        func sigkillOfTheCoordinatorRecomputesNothingFinished() throws {
            let cluster = try Cluster(yaml: Cluster.sweep(units: 20, method: "sleep", seconds: 0.15, lease: 3))
            let first = try cluster.startCoordinator(log: "coordinator1.log")
            for i in 0..<3 { try cluster.startWorker(i) }
            #expect(cluster.waitForJournal(seconds: 20) { ($0.counts[.done] ?? 0) >= 10 })
            kill(first.processIdentifier, SIGKILL)
            _ = cluster.wait(first, seconds: 5)
            // What was durable at the kill, and when its files were written.
            let doneBefore = try cluster.journal().units().filter { $0.state == .done }
            var mtimes: [String: Date] = [:]
            for u in doneBefore {
                let path = cluster.results.appendingPathComponent(u.resultPath ?? "").path
                mtimes[u.id.hex] = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
            }
            usleep(300_000)
            let second = try cluster.startCoordinator(log: "coordinator2.log")
            #expect(cluster.wait(second, seconds: 40), "restarted coordinator did not finish:\n\(cluster.log("coordinator2.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 40)
            let attempts = try cluster.journal().attempts()
            for u in doneBefore {
                let path = cluster.results.appendingPathComponent(u.resultPath ?? "").path
                let mtime = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
                #expect(mtime == mtimes[u.id.hex], "result of \(u.id) was rewritten")
                let started = attempts.filter { $0.unit == u.id.hex && $0.outcome != "duplicate" }
                #expect(started.filter { $0.outcome == "committed" }.count == 1)
            }
            #expect(cluster.log("coordinator2.log").contains("units.remaining"))
        }

        @Test(.timeLimit(.minutes(1)))
        func sigstopPastTheLeaseThenSigcontCommitsOnce() throws {
            let cluster = try Cluster(yaml: Cluster.sweep(units: 6, method: "sleep", seconds: 0.5, lease: 1.2, heartbeat: 0.2))
            let coordinator = try cluster.startCoordinator()
            let frozen = try cluster.startWorker(0)
            try cluster.startWorker(1)
            #expect(cluster.waitForJournal(seconds: 15) { $0.liveLeases >= 2 })
            kill(frozen.processIdentifier, SIGSTOP)
            usleep(3_000_000)  // well past the 1.2 s lease: evicted, its unit re-issued
            kill(frozen.processIdentifier, SIGCONT)
            #expect(cluster.wait(coordinator, seconds: 45), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 12)
            #expect(cluster.log("coordinator.log").contains("worker evicted"))
        }

        @Test(.timeLimit(.minutes(1)))
        func sigtermReleasesWithinTheGracePeriod() throws {
            // 3 s units, 2 s grace: the running unit cannot finish, so it is released (no attempt
            // counted) and a second worker completes the sweep.
            let cluster = try Cluster(yaml: Cluster.sweep(units: 1, method: "sleep", seconds: 3, lease: 10, tasks: 2))
            let coordinator = try cluster.startCoordinator()
            let first = try cluster.startWorker(0, capacity: 2)
            #expect(cluster.waitForJournal(seconds: 15) { $0.liveLeases == 2 })
            usleep(300_000)
            kill(first.processIdentifier, SIGTERM)
            #expect(cluster.wait(first, seconds: 6), "worker did not stop within its grace period")
            #expect(first.terminationReason == .exit && first.terminationStatus == 0)
            let outcomes = try cluster.journal().attempts().compactMap(\.outcome)
            #expect(outcomes.filter { $0 == "released" }.count == 2, "\(outcomes)")
            #expect(try cluster.journal().units().allSatisfy { $0.attempts == 0 }, "a release counts no attempt")
            try cluster.startWorker(1, capacity: 2)
            #expect(cluster.wait(coordinator, seconds: 30))
            try cluster.expectAllDoneOnce(units: 2)
        }

        @Test(.timeLimit(.minutes(1)))
        func sharedResultsAreVerifiedInPlace() throws {
            let cluster = try Cluster(yaml: Cluster.sweep(units: 10, method: "noop"))
            let coordinator = try cluster.startCoordinator()
            for i in 0..<2 {
                try cluster.start(["worker", "--connect", cluster.endpoint, "--shared-results", cluster.results.path], log: "worker\(i).log")
            }
            #expect(cluster.wait(coordinator, seconds: 40), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 20)
            let leftovers = FileManager.default.enumerator(atPath: cluster.results.path)?.compactMap { $0 as? String }
                .filter { $0.hasSuffix(".part") || $0.contains(".tmp") } ?? []
            #expect(leftovers.isEmpty, "staging files left: \(leftovers)")
        }
    }
}
