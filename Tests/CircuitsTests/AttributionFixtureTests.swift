import Foundation
import FixtureSupport
import Testing
import NeoX
@testable import Circuits

/// The fixture task as `TaskExamples`: padding stripped with `lengths`; logit_diff labels from
/// `labels`, prob_diff labels from `prob_weights` (+1 → correct, −1 → incorrect).
enum EAPFixture {
    static func examples(_ model: String, metric: TaskMetric) throws -> TaskExamples {
        let t = try NumericFixtures.safetensors("eap/\(model)/task.safetensors")
        guard let cleanE = t["clean_ids"], let corrE = t["corrupted_ids"], let lenE = t["lengths"],
              let labE = t["labels"], let pwE = t["prob_weights"] else {
            throw NumericFixtures.FixtureError(description: "task.safetensors keys")
        }
        let clean = NumericFixtures.ints(cleanE), corrupted = NumericFixtures.ints(corrE)
        let lengths = NumericFixtures.ints(lenE), labels = NumericFixtures.ints(labE)
        let weights = NumericFixtures.floats(pwE)
        let N = lengths.count, P = cleanE.shape[1], V = pwE.shape[1]
        let list = (0..<N).map { b -> TaskExample in
            let n = lengths[b]
            let row = weights[(b * V)..<(b * V + V)]
            let correct = metric == .logitDiff ? [labels[2 * b]] : row.indices.filter { row[$0] > 0 }.map { $0 - b * V }
            let incorrect = metric == .logitDiff ? [labels[2 * b + 1]] : row.indices.filter { row[$0] < 0 }.map { $0 - b * V }
            return TaskExample(clean: Array(clean[(b * P)..<(b * P + n)]), corrupted: Array(corrupted[(b * P)..<(b * P + n)]),
                               correct: correct, incorrect: incorrect)
        }
        return TaskExamples(metric: metric, examples: list)
    }

    static func scores(_ model: String, key: String) throws -> [Float] {
        let s = try NumericFixtures.safetensors("eap/\(model)/scores.safetensors")
        guard let e = s[key] else { throw NumericFixtures.FixtureError(description: "missing score key \(key)") }
        return NumericFixtures.floats(e)
    }
}

@Suite("Attribution parity with the reference EAP-IG scores")
struct AttributionFixtureTests {
    struct Case: Sendable, CustomStringConvertible {
        let key: String, method: AttributionMethod, batchSize: Int, metric: TaskMetric
        var description: String { key }
    }
    static let cases: [Case] = [
        Case(key: "eap", method: .eap, batchSize: 4, metric: .logitDiff),
        Case(key: "clean_corrupted", method: .cleanCorrupted, batchSize: 4, metric: .logitDiff),
        Case(key: "eap_ig_inputs_5", method: .eapIGInputs(steps: 5), batchSize: 4, metric: .logitDiff),
        Case(key: "eap_ig_inputs_30", method: .eapIGInputs(steps: 30), batchSize: 4, metric: .logitDiff),
        Case(key: "eap_ig_inputs_5_bs1", method: .eapIGInputs(steps: 5), batchSize: 1, metric: .logitDiff),
        Case(key: "eap_ig_inputs_5_bs3", method: .eapIGInputs(steps: 5), batchSize: 3, metric: .logitDiff),
        Case(key: "probdiff_eap_ig_inputs_5", method: .eapIGInputs(steps: 5), batchSize: 4, metric: .probDiff),
    ]

    @Test("batch-normalised scores match the reference", arguments: ["neox-tiny", "neox-small-seq"], cases)
    func referenceScores(model name: String, c: Case) throws {
        let model = try NumericFixtures.model(name)
        let examples = try EAPFixture.examples(name, metric: c.metric)
        // Small row budget so that stacking splits the IG steps into several passes.
        let options = AttributionOptions(method: c.method, batchSize: c.batchSize, batchNormalized: true, maxRowsPerPass: 64)
        let scores = try EdgeAttribution(model: model).scores(examples: examples, options: options)
        let got = scores.edgeVector
        for key in [c.key, c.key + "_f64"] {
            let expected = try EAPFixture.scores(name, key: key)
            #expect(got.count == expected.count)
            let maxS = expected.map(abs).max() ?? 1
            let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * maxS, "\(name) \(key): max |Δ| \(worst), max|S| \(maxS)")
        }
    }

    @Test("per-example default equals batch size 1 and ignores the batching", arguments: ["neox-tiny", "neox-small-seq"])
    func perExampleDefault(model name: String) throws {
        let model = try NumericFixtures.model(name)
        let examples = try EAPFixture.examples(name, metric: .logitDiff)
        let expected = try EAPFixture.scores(name, key: "eap_ig_inputs_5_bs1_f64")
        let maxS = expected.map(abs).max() ?? 1
        for (batchSize, share) in [(3, true), (8, true), (8, false)] {
            let options = AttributionOptions(method: .eapIGInputs(steps: 5), batchSize: batchSize, sharePrefix: share)
            let got = try EdgeAttribution(model: model).scores(examples: examples, options: options).edgeVector
            let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * maxS, "batch \(batchSize), shared prefix \(share): \(worst)")
        }
    }

    @Test("progress is reported per stacked pass")
    func progress() throws {
        let model = try NumericFixtures.model("neox-tiny")
        let examples = try EAPFixture.examples("neox-tiny", metric: .logitDiff)
        nonisolated(unsafe) var seen: [AttributionProgress] = []
        _ = try EdgeAttribution(model: model).scores(
            examples: examples, options: AttributionOptions(method: .eapIGInputs(steps: 5), batchSize: 4, maxRowsPerPass: 60),
            progress: { seen.append($0) })
        #expect(seen.last == AttributionProgress(batch: 1, batchCount: 2, stepsDone: 5, stepCount: 5))
        #expect(seen.count >= 4)
    }

    @Test("invalid examples name the example")
    func validation() throws {
        let model = try NumericFixtures.model("neox-tiny")
        let attribution = EdgeAttribution(model: model)
        let good = TaskExample(clean: [0, 1, 2], corrupted: [0, 3, 2], correct: [4], incorrect: [5])
        #expect(throws: AttributionError.noExamples) {
            _ = try attribution.scores(examples: TaskExamples(metric: .logitDiff, examples: []))
        }
        #expect(throws: AttributionError.invalidExample(example: 1, problem: .lengthMismatch(clean: 3, corrupted: 2))) {
            _ = try attribution.scores(examples: TaskExamples(metric: .logitDiff, examples: [
                good, TaskExample(clean: [0, 1, 2], corrupted: [0, 1], correct: [4], incorrect: [5])]))
        }
        #expect(throws: AttributionError.invalidExample(example: 0, problem: .tokenOutOfRange(field: "clean", id: 96, vocabSize: 96))) {
            _ = try attribution.scores(examples: TaskExamples(metric: .logitDiff, examples: [
                TaskExample(clean: [0, 96], corrupted: [0, 1], correct: [4], incorrect: [5])]))
        }
        #expect(throws: AttributionError.invalidExample(example: 0, problem: .promptTooLong(length: 65, maximum: 64))) {
            let long = Array(repeating: 1, count: 65)
            _ = try attribution.scores(examples: TaskExamples(metric: .logitDiff, examples: [
                TaskExample(clean: long, corrupted: long, correct: [4], incorrect: [5])]))
        }
    }
}
