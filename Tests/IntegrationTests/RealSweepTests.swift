import Foundation
import Results
import Testing

/// A real sweep: EAP-IG attribution, the minimal-circuit search and head scores on the fixture
/// models (three revisions with different weights × two tasks), run by a coordinator and three
/// worker processes over tcp loopback; every result must verify and carry the science.
extension ClusterProcessTests {
    @Suite struct RealSweepTests {
        @Test(.timeLimit(.minutes(2)))
        func threeWorkersFinishARealSweepOnFixtureModels() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: FixtureSweep.yamlHeader + """

                analyses:
                \(FixtureSweep.eapIG)
                lease: {seconds: 20, heartbeat_seconds: 0.5}
                """)
            try FixtureSweep.prepare(in: cluster.dir)

            let coordinator = try cluster.startCoordinator()
            for i in 0..<3 {
                try cluster.start(["worker", "--connect", cluster.endpoint, "--model-root", cluster.dir.path, "--grace", "2"],
                                  log: "worker\(i).log")
            }
            #expect(cluster.wait(coordinator, seconds: 100), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(3000))")
            #expect(coordinator.terminationStatus == 0, "\(cluster.log("worker0.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 6)

            var hashes = Set<String>()
            for task in FixtureSweep.tasks {
                for revision in FixtureSweep.revisions {
                    let url = cluster.results.appendingPathComponent("neox-tiny/\(task)/\(revision).h5")
                    try UnitResultFile.verify(url)
                    let result = try UnitResultFile.read(url)
                    #expect(result.attribution?.scores.count == 102)
                    #expect(result.minimalCircuit != nil)
                    #expect(result.faithfulness?.sizes.isEmpty == false)
                    #expect(result.headScores["induction"]?.values.count == 8)
                    #expect(result.identity.trainingStep == Int(revision.dropFirst(4)))
                    if let hash = result.identity.checkpointSHA256 { hashes.insert(hash) }
                    if task == "pairs-a", revision == "step143000", let baseline = result.baseline {
                        #expect(abs(baseline.fullMetric - 1.1439) < 1e-3)   // fixtures/README.md §3.6
                        #expect(abs(baseline.emptyMetric + 1.9861) < 1e-3)
                    }
                }
            }
            #expect(hashes.count == 3, "each revision's weights hash differently")
        }
    }
}
