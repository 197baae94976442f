import Foundation
import Testing

/// A sweep folder for real EAP-IG units on the fixture model neox-tiny: three "checkpoints" with
/// different weights and two tasks (the fixture examples, and the same pairs with clean and
/// corrupted swapped).
enum FixtureSweep {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let revisions = ["step0", "step1000", "step143000"]
    static let tasks = ["pairs-a", "pairs-b"]

    /// The sweep file's `revisions`, `models` and `tasks` sections.
    static let yamlHeader = """
        results: results
        revisions: [\(revisions.joined(separator: ", "))]
        models:
          - {name: neox-tiny, folder: models/neox-tiny}
        tasks:
          - {name: pairs-a, examples: task-a.json}
          - {name: pairs-b, examples: task-b.json}
        """

    /// The EAP-IG analysis of RealSweepTests: 5 steps, the minimal-circuit search, induction scores.
    static let eapIG = """
          - method: eap-ig-inputs
            steps: 5
            circuit: {threshold: 0.8, start: 5, end: 102, step: 5}
            head_scores: [induction]
        """

    /// Links the checkpoints under `dir/models/neox-tiny` and writes `task-a.json`, `task-b.json`.
    static func prepare(in dir: URL) throws {
        let fm = FileManager.default
        let models = dir.appendingPathComponent("models/neox-tiny")
        try fm.createDirectory(at: models, withIntermediateDirectories: true)
        // bf16-, fp16-rounded and full fp32 weights.
        for (revision, folder) in zip(revisions, ["neox-tiny-bf16", "neox-tiny-fp16", "neox-tiny"]) {
            try fm.createSymbolicLink(at: models.appendingPathComponent(revision),
                                      withDestinationURL: fixtures.appendingPathComponent("models/\(folder)"))
        }
        let examples = fixtures.appendingPathComponent("examples/neox-tiny.json")
        try fm.copyItem(at: examples, to: dir.appendingPathComponent("task-a.json"))
        var swapped = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: examples)) as? [String: Any])
        swapped["examples"] = (swapped["examples"] as? [[String: Any]] ?? []).map { e -> [String: Any] in
            var e = e
            (e["clean"], e["corrupted"]) = (e["corrupted"], e["clean"])
            return e
        }
        try JSONSerialization.data(withJSONObject: swapped).write(to: dir.appendingPathComponent("task-b.json"))
    }
}
