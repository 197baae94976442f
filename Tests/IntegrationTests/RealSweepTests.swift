import Foundation
import Results
import Testing

/// A real sweep: EAP-IG attribution, the minimal-circuit search and head scores on the fixture
/// models (three revisions with different weights × two tasks), run by a coordinator and three
/// worker processes over tcp loopback; every result must verify and carry the science.
extension ClusterProcessTests {
    @Suite struct RealSweepTests {
        static let fixtures = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

        @Test(.timeLimit(.minutes(2)))
        func threeWorkersFinishARealSweepOnFixtureModels() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: """
                results: results
                revisions: [step0, step1000, step143000]
                models:
                  - {name: neox-tiny, folder: models/neox-tiny}
                tasks:
                  - {name: pairs-a, examples: task-a.json}
                  - {name: pairs-b, examples: task-b.json}
                analyses:
                  - method: eap-ig-inputs
                    steps: 5
                    circuit: {threshold: 0.8, start: 5, end: 102, step: 5}
                    head_scores: [induction]
                lease: {seconds: 20, heartbeat_seconds: 0.5}
                """)
            let fm = FileManager.default
            let models = cluster.dir.appendingPathComponent("models/neox-tiny")
            try fm.createDirectory(at: models, withIntermediateDirectories: true)
            // Three "checkpoints" with different weights: bf16-, fp16-rounded and full fp32.
            for (revision, folder) in [("step0", "neox-tiny-bf16"), ("step1000", "neox-tiny-fp16"), ("step143000", "neox-tiny")] {
                try fm.createSymbolicLink(at: models.appendingPathComponent(revision),
                                          withDestinationURL: Self.fixtures.appendingPathComponent("models/\(folder)"))
            }
            // Two tasks: the fixture examples, and the same with clean/corrupted swapped.
            let examples = Self.fixtures.appendingPathComponent("examples/neox-tiny.json")
            try fm.copyItem(at: examples, to: cluster.dir.appendingPathComponent("task-a.json"))
            var swapped = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: examples)) as? [String: Any])
            swapped["examples"] = (swapped["examples"] as? [[String: Any]] ?? []).map { e -> [String: Any] in
                var e = e
                (e["clean"], e["corrupted"]) = (e["corrupted"], e["clean"])
                return e
            }
            try JSONSerialization.data(withJSONObject: swapped).write(to: cluster.dir.appendingPathComponent("task-b.json"))

            let coordinator = try cluster.startCoordinator()
            for i in 0..<3 {
                try cluster.start(["worker", "--connect", cluster.endpoint, "--model-root", cluster.dir.path, "--grace", "2"],
                                  log: "worker\(i).log")
            }
            #expect(cluster.wait(coordinator, seconds: 100), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(3000))")
            #expect(coordinator.terminationStatus == 0, "\(cluster.log("worker0.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 6)

            var hashes = Set<String>()
            for task in ["pairs-a", "pairs-b"] {
                for revision in ["step0", "step1000", "step143000"] {
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
