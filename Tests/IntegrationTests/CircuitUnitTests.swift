import Circuits
import Foundation
import NeoX
import Results
import Testing
@testable import Worker

/// The whole unit pipeline (load → attribution → circuits → result file) on the fixture model,
/// against the reference library's circuit metrics (fixtures/README.md §3.6).
@Suite struct CircuitUnitTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The fixture task as an examples file's content: padding stripped, labels as answers.
    static func fixtureExamples(_ model: String) throws -> TaskExamples {
        let file = try SafetensorsFile(url: fixtures.appendingPathComponent("eap/\(model)/task.safetensors"))
        let clean = try file.integers("clean_ids"), corrupted = try file.integers("corrupted_ids")
        let lengths = try file.integers("lengths"), labels = try file.integers("labels")
        let width = clean.count / lengths.count
        let examples = lengths.enumerated().map { i, length in
            TaskExample(clean: Array(clean[(i * width)..<(i * width + length)]),
                        corrupted: Array(corrupted[(i * width)..<(i * width + length)]),
                        correct: [labels[2 * i]], incorrect: [labels[2 * i + 1]])
        }
        return TaskExamples(metric: .logitDiff, examples: examples)
    }

    @Test(arguments: ["neox-tiny", "neox-small-seq"])
    func unitMatchesReferenceCircuitsAndRoundTripsThroughTheResultFile(model: String) throws {
        let checkpoint = try NeoXCheckpoint.load(from: Self.fixtures.appendingPathComponent("models/\(model)"))
        let neox = try NeoXModel(config: checkpoint.config, weights: checkpoint.weights)
        let settings = CircuitUnitSettings(
            attribution: AttributionOptions(method: .eapIGInputs(steps: 30), batchSize: 4, batchNormalized: true),
            circuits: CircuitAnalysisRequest(selection: .greedy, sizes: [5, 20, 50],
                                             search: FaithfulnessSearchPolicy(start: 5, end: 200, step: 5, threshold: 0.8)))
        let outcome = try CircuitUnit.run(model: neox, examples: try Self.fixtureExamples(model), settings: settings)

        let reference = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.fixtures.appendingPathComponent("eap/\(model)/circuits.json"))) as? [String: Any])
        let full = try #require((reference["full_model"] as? [String: Any])?["mean"] as? Double)
        let empty = try #require((reference["empty_circuit"] as? [String: Any])?["mean"] as? Double)
        #expect(abs(outcome.analysis.fullMean - full) < 1e-4)
        #expect(abs(outcome.analysis.emptyMean - empty) < 1e-4)
        let cases = try #require(reference["cases"] as? [[String: Any]]).filter { ($0["key"] as? String)?.hasPrefix("greedy") == true }
        for expected in cases {
            let n = try #require(expected["n_requested"] as? Int)
            let circuit = try #require(outcome.analysis.circuits.first { $0.requestedSize == n })
            #expect(circuit.circuit.edgeNames == expected["edges_in_circuit"] as? [String], "\(model) greedy \(n)")
            let perExample = try #require(expected["per_example"] as? [Double])
            for (ours, theirs) in zip(circuit.perExample, perExample) { #expect(abs(ours - theirs) < 1e-4, "\(model) greedy \(n)") }
        }
        let search = try #require(outcome.analysis.search)
        let minimal = try #require(outcome.analysis.minimal)
        if search.reached {
            #expect(minimal.mean / outcome.analysis.fullMean >= 0.8)
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("circuitunit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("unit.h5")
        let result = outcome.unitResult(
            identity: UnitIdentity(unitID: "test", model: model, revision: "main", task: "fixture",
                                   checkpointSHA256: checkpoint.contentHash),
            provenance: Provenance(softwareVersion: "test", host: "localhost"), settings: settings)
        let receipt = try UnitResultFile.write(result, to: url)
        #expect(try UnitResultFile.sha256(of: url) == receipt.sha256)
        let read = try UnitResultFile.read(url)
        #expect(read.attribution?.scores == outcome.scores.edgeVector)
        #expect(read.attribution?.edgeNames == outcome.scores.graph.edgeNames)
        #expect(read.circuits.map(\.requestedEdges) == [5, 20, 50])
        #expect(read.minimalCircuit?.edgeCount == minimal.circuit.edgeCount)
        #expect(read.faithfulness?.sizes == search.curve.map(\.size))
    }
}
