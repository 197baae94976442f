import Foundation
import FixtureSupport
import Testing
import NeoX
@testable import Circuits

@Suite("Patched circuit evaluation parity with the reference evaluate_graph")
struct PatchedEvaluationFixtureTests {
    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: NumericFixtures.root.appendingPathComponent("eap/\(name)/circuits.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func floats(_ any: Any?) throws -> [Float] {
        try #require(any as? [Double]).map(Float.init)
    }

    static func expectClose(_ got: [Float], _ expected: [Float], _ label: String) {
        #expect(got.count == expected.count, "\(label): count")
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-4, "\(label): max |Δ| \(worst)")
    }

    @Test("logit-diff circuits, full model and empty circuit", arguments: ["neox-tiny", "neox-small-seq"])
    func logitDiffCircuits(model name: String) throws {
        let model = try NumericFixtures.model(name)
        let evaluator = try PatchedEvaluator(model: model, examples: try EAPFixture.examples(name, metric: .logitDiff))
        let reference = try Self.json(name)
        let masks = try NumericFixtures.safetensors("eap/\(name)/circuits.safetensors")
        let full = try #require(reference["full_model"] as? [String: Any])
        let empty = try #require(reference["empty_circuit"] as? [String: Any])
        Self.expectClose(evaluator.fullModelMetrics, try Self.floats(full["per_example"]), "full model")
        Self.expectClose(evaluator.emptyCircuitMetrics, try Self.floats(empty["per_example"]), "empty circuit")
        let E = evaluator.graph.edgeCount
        Self.expectClose(try evaluator.metrics(edgeMask: Array(repeating: true, count: E)),
                         try Self.floats(full["per_example"]), "all edges")
        Self.expectClose(try evaluator.metrics(edgeMask: Array(repeating: false, count: E)),
                         try Self.floats(empty["per_example"]), "no edges")
        let cases = try #require(reference["cases"] as? [[String: Any]])
        #expect(cases.count == 6)
        for c in cases {
            let key = try #require(c["key"] as? String)
            let mask = NumericFixtures.floats(try #require(masks["\(key)_edges"])).map { $0 != 0 }
            Self.expectClose(try evaluator.metrics(edgeMask: mask), try Self.floats(c["per_example"]), "\(name) \(key)")
            Self.expectClose(try evaluator.metrics(edgeMask: mask), try Self.floats(c["per_example_f64"]), "\(name) \(key) f64")
        }
    }

    @Test("prob-diff greedy-20 circuit", arguments: ["neox-tiny", "neox-small-seq"])
    func probDiffCircuit(model name: String) throws {
        let model = try NumericFixtures.model(name)
        let evaluator = try PatchedEvaluator(model: model, examples: try EAPFixture.examples(name, metric: .probDiff))
        let reference = try #require(try Self.json(name)["probdiff_greedy_20"] as? [String: Any])
        let masks = try NumericFixtures.safetensors("eap/\(name)/circuits.safetensors")
        let mask = NumericFixtures.floats(try #require(masks["probdiff_greedy_20_edges"])).map { $0 != 0 }
        Self.expectClose(try evaluator.metrics(edgeMask: mask), try Self.floats(reference["per_example"]), "\(name) probdiff")
        Self.expectClose(evaluator.fullModelMetrics, try Self.floats(reference["full_model_per_example"]), "probdiff full")
        Self.expectClose(evaluator.emptyCircuitMetrics, try Self.floats(reference["empty_circuit_per_example"]), "probdiff empty")
    }

    @Test("chunked evaluation equals one chunk", arguments: ["neox-tiny", "neox-small-seq"])
    func chunking(model name: String) throws {
        let model = try NumericFixtures.model(name)
        let examples = try EAPFixture.examples(name, metric: .logitDiff)
        let whole = try PatchedEvaluator(model: model, examples: examples, maxRowsPerChunk: 1000)
        let chunked = try PatchedEvaluator(model: model, examples: examples, maxRowsPerChunk: 12)
        let masks = try NumericFixtures.safetensors("eap/\(name)/circuits.safetensors")
        let mask = NumericFixtures.floats(try #require(masks["greedy_20_edges"])).map { $0 != 0 }
        Self.expectClose(try chunked.metrics(edgeMask: mask), try whole.metrics(edgeMask: mask), "\(name) chunked")
        Self.expectClose(chunked.fullModelMetrics, whole.fullModelMetrics, "\(name) chunked full")
        Self.expectClose(chunked.emptyCircuitMetrics, whole.emptyCircuitMetrics, "\(name) chunked empty")
    }

    @Test("a wrong-sized mask is rejected")
    func maskSize() throws {
        let model = try NumericFixtures.model("neox-tiny")
        let evaluator = try PatchedEvaluator(model: model, examples: try EAPFixture.examples("neox-tiny", metric: .logitDiff))
        #expect(throws: AttributionError.self) { _ = try evaluator.metrics(edgeMask: [true]) }
    }
}
