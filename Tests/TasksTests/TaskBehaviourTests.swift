import Circuits
import Foundation
import NeoX
import Testing
@testable import Tasks
import Tensor

/// Task metrics through the forward pass, against independent computations.
@Suite struct TaskBehaviourTests {
    /// The EAP fixture task (fixtures README §3): the model's clean logit difference and
    /// probability difference per example must equal the reference library's `full_model` values.
    @Test(arguments: ["neox-tiny", "neox-small-seq"])
    func fixtureMetricsMatchReference(_ name: String) throws {
        let eap = TaskFixtures.root.appendingPathComponent("eap/\(name)")
        let checkpoint = try NeoXCheckpoint.load(from: TaskFixtures.root.appendingPathComponent("models/\(name)"), hashContent: false)
        let model = try NeoXModel(config: checkpoint.config, weights: checkpoint.weights)
        let task = try SafetensorsFile(url: eap.appendingPathComponent("task.safetensors"))
        let clean = try task.integers("clean_ids"), corrupted = try task.integers("corrupted_ids")
        let lengths = try task.integers("lengths"), labels = try task.integers("labels")
        let years = try task.integers("year_ids"), thresholds = try task.integers("year_threshold")
        let width = clean.count / lengths.count
        func row(_ ids: [Int], _ i: Int) -> [Int] { Array(ids[(i * width)..<(i * width + lengths[i])]) }
        let logitExamples = TaskExamples(metric: .logitDiff, examples: lengths.indices.map { i in
            TaskExample(clean: row(clean, i), corrupted: row(corrupted, i), correct: [labels[2 * i]], incorrect: [labels[2 * i + 1]])
        })
        let probExamples = TaskExamples(metric: .probDiff, examples: lengths.indices.map { i in
            TaskExample(clean: row(clean, i), corrupted: row(corrupted, i),
                        correct: years.indices.filter { $0 > thresholds[i] }.map { years[$0] },
                        incorrect: years.indices.filter { $0 <= thresholds[i] }.map { years[$0] })
        })
        struct Reference: Decodable {
            struct Full: Decodable { var per_example: [Double] }
            struct ProbDiff: Decodable { var full_model_per_example: [Double] }
            var full_model: Full
            var probdiff_greedy_20: ProbDiff
        }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: eap.appendingPathComponent("circuits.json")))
        let logitDiff = try TaskBehaviour.evaluate(model: model, examples: logitExamples, batchSize: 3)
        let probDiff = try TaskBehaviour.evaluate(model: model, examples: probExamples, batchSize: 4)
        for i in lengths.indices {
            #expect(abs(logitDiff.perExample[i] - reference.full_model.per_example[i]) < 1e-4)
            #expect(abs(probDiff.perExample[i] - reference.probdiff_greedy_20.full_model_per_example[i]) < 1e-5)
        }
    }

    /// On a random model with the Pythia vocabulary, each generated task's metric equals a plain
    /// computation from the full, unpadded logits of each prompt.
    @Test(arguments: TaskKind.allCases)
    func generatedTaskMetricMatchesStraightforwardComputation(_ kind: TaskKind) throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let config = NeoXConfig(vocabSize: 50_304, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64,
                                maxPositionEmbeddings: 64)
        let model = NeoXModel.random(config: config, seed: 11, scale: 0.5)
        let dataset = try TaskGenerator(tokenizer: tokenizer).generate(kind, size: 12, seed: 5)
        let summary = try TaskBehaviour.evaluate(model: model, examples: dataset.taskExamples, batchSize: 5)
        var expected: [Double] = []
        for example in dataset.examples {
            let all = try model.logits(inputIds: [example.clean])
            let v = config.vocabSize, last = example.clean.count - 1
            let row = (0..<v).map { Double(all.storage[last * v + $0]) }
            switch kind.metric {
            case .logitDiff:
                expected.append(row[example.correct[0]] - row[example.incorrect[0]])
            case .probDiff:
                let top = row.max() ?? 0
                let z = row.reduce(0) { $0 + exp($1 - top) }
                let p = { (id: Int) in exp(row[id] - top) / z }
                expected.append(example.correct.map(p).reduce(0, +) - example.incorrect.map(p).reduce(0, +))
            }
        }
        for (got, want) in zip(summary.perExample, expected) {
            #expect(abs(got - want) < 1e-4 * max(1, abs(want)))
        }
        #expect(abs(summary.mean - expected.reduce(0, +) / Double(expected.count)) < 1e-4)
        #expect(summary.accuracy == Double(expected.filter { $0 > 0 }.count) / Double(expected.count))
    }

    /// The scorer wires forward, tokenizer and weights together on a random Pythia-vocabulary model.
    @Test func headScorerComputesEveryScore() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let config = NeoXConfig(vocabSize: 50_304, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64,
                                maxPositionEmbeddings: 256)
        let weights = NeoXWeights.random(config: config, seed: 3, scale: 0.5)
        var options = HeadScorer.Options()
        options.ioiSize = 6
        options.repeatedTokenHalf = 40
        options.cspaEvaluationCount = 3
        let scorer = try HeadScorer(config: config, weights: weights, options: options)
        let scores = try scorer.scores(HeadScoreKind.allCases, tokenizer: tokenizer)
        #expect(Set(scores.keys) == Set(HeadScoreKind.allCases))
        let signed: Set<HeadScoreKind> = [.copySuppression, .directEffect, .sInhibition]
        for (kind, grid) in scores {
            #expect(grid.layers == 2 && grid.heads == 4)
            #expect(grid.values.allSatisfy { $0.isFinite && ($0 >= 0 || signed.contains(kind)) }, "\(kind)")
        }
        // A random model is near chance.
        #expect(scores[.induction]?.values.allSatisfy { $0 < 0.1 } == true)
        #expect(scores[.successor]?.values.allSatisfy { $0 < 0.2 } == true)
        #expect(scores[.copy]?.values.allSatisfy { $0 < 20 } == true)
        #expect(scores[.copySuppression]?.values.allSatisfy { abs($0) < 0.5 } == true)
        let movers = IOIPathPatching.nameMovers(copy: try #require(scores[.copy]), directEffect: try #require(scores[.directEffect]))
        #expect(movers.isEmpty, "random weights have no name mover, so nothing is S-inhibition")
        #expect(scores[.sInhibition]?.values.allSatisfy { $0 == 0 } == true)
        #expect(throws: HeadScoreError.self) { try scorer.scores([.sInhibition], tokenizer: nil) }
        #expect(throws: HeadScoreError.self) { try scorer.scores([.copySuppression], tokenizer: nil) }
        // Reusing a prepared model gives the same scores.
        let reused = HeadScorer(model: scorer.model, options: options)
        #expect(try reused.scores([.induction, .successor], tokenizer: tokenizer)[.induction] == scores[.induction])
    }
}
