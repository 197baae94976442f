import Circuits
import Foundation
import NeoX
import Testing
@testable import Tasks
import Tensor

/// Path patching and the S-inhibition score: known answers on a hand-built IOI circuit, and
/// equality with a naive re-computation on the fixture models.
@Suite struct IOIPathPatchingTests {
    /// "IO S f f S f END" (and "S IO f f S f END") with its ABB->ABA flip; names 0..<8, fillers
    /// 8..<23, END = 23.
    static func miniIOI(count: Int, seed: UInt64) -> [TaskExample] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { i in
            let (io, s) = HandBuiltModels.twoNames(&random)
            let f = (0..<3).map { _ in random.nextInt(in: 8..<23) }
            let first = i % 2 == 0 ? [io, s] : [s, io]
            return TaskExample(clean: first + [f[0], f[1], s, f[2], 23], corrupted: first + [f[0], f[1], io, f[2], 23],
                               correct: [io], incorrect: [s])
        }
    }

    @Test func handBuiltSInhibitionHeadScoresHigh() throws {
        let (config, weights) = HandBuiltModels.sInhibitionModel()
        let model = try NeoXModel(config: config, weights: weights)
        let examples = Self.miniIOI(count: 12, seed: 3)
        // The name mover is found the paper's way: copy score > 10 and a negative direct effect.
        let direct = try IOIPathPatching.effects(model: model, examples: examples, receiver: .finalResidual, chunkSize: 5)
        #expect(direct.cleanLogitDiff > 0.5 && direct.corruptedLogitDiff < -0.5)
        let sites = try CopyScores.ioiSites(examples.map {
            TaskDataset.Example(clean: $0.clean, corrupted: $0.corrupted, correct: $0.correct, incorrect: $0.incorrect, cleanText: "", corruptedText: "")
        })
        let copy = try CopyScores.scores(config: config, weights: weights, sequences: examples.map(\.clean), sites: sites) { tokens in
            try model.hiddenStates(inputIds: [tokens]).residuals[1].reshaped([tokens.count, config.hiddenSize])
        }
        let movers = IOIPathPatching.nameMovers(copy: copy, directEffect: direct.effects)
        #expect(movers == [PathPatcher.HeadIndex(layer: 1, head: 0)])
        let score = try IOIPathPatching.sInhibition(model: model, examples: examples, nameMovers: movers, chunkSize: 5)
        #expect(score[0, 0] > 0.8, "the bag head carries the duplicate signal into the name mover's query")
        #expect(abs(score[0, 1]) < 0.05, "moving names elsewhere is not S-inhibition")
        #expect(score[1, 0] == 0 && score[1, 1] == 0, "heads of the name mover's layer cannot reach its query")
        #expect(score.argmax == (0, 0))
    }

    @Test func noNameMoversGivesZeroAndBadInputIsRejected() throws {
        let (config, weights) = HandBuiltModels.sInhibitionModel()
        let model = try NeoXModel(config: config, weights: weights)
        let examples = Self.miniIOI(count: 2, seed: 1)
        #expect(try IOIPathPatching.sInhibition(model: model, examples: examples, nameMovers: []).values.allSatisfy { $0 == 0 })
        var missing = examples
        missing[1].incorrect = []
        #expect(throws: HeadScoreError.self) { try IOIPathPatching.effects(model: model, examples: missing, receiver: .finalResidual) }
        var ragged = examples
        ragged[0].corrupted.removeLast()
        #expect(throws: HeadScoreError.self) { try IOIPathPatching.effects(model: model, examples: ragged, receiver: .finalResidual) }
        let long = TaskExample(clean: Array(repeating: 9, count: 65), corrupted: Array(repeating: 9, count: 65), correct: [0], incorrect: [1])
        do {
            _ = try IOIPathPatching.effects(model: model, examples: [long], receiver: .finalResidual)
            Issue.record("a prompt longer than the context must fail")
        } catch let error as HeadScoreError {
            #expect(error.description.contains("context is 64"))
        }
        #expect(throws: HeadScoreError.self) { try IOIPathPatching.effects(model: model, examples: [], receiver: .finalResidual) }
    }

    /// Every sender's effect equals McDougall's three steps done by hand with a naive forward.
    @Test(arguments: ["neox-tiny", "neox-small-seq"])
    func fixtureEffectsMatchNaivePathPatching(_ name: String) throws {
        let (config, weights, all) = try Self.fixture(name)
        let examples = Array(all.prefix(6))
        let model = try NeoXModel(config: config, weights: weights)
        let naive = NaiveForward(config: config, weights: weights)
        let L = config.numLayers, H = config.numHeads
        let lastLayer = (0..<H).map { PathPatcher.HeadIndex(layer: L - 1, head: $0) }
        let receivers: [PathPatcher.Receiver] = [
            .finalResidual, .heads(lastLayer, slot: 0), .heads([.init(layer: 1, head: 2), .init(layer: 0, head: 1)], slot: 2),
        ]
        let clean = examples.map { naive.run($0.clean) }, corrupted = examples.map { naive.run($0.corrupted) }
        func meanLD(_ runs: [NaiveForward.Run]) -> Double {
            zip(runs, examples).reduce(0) { sum, pair in
                let row = pair.0.finalNorm[pair.0.finalNorm.count - 1]
                return sum + naive.logit(row, pair.1.correct[0]) - naive.logit(row, pair.1.incorrect[0])
            } / Double(examples.count)
        }
        let ldClean = meanLD(clean), ldCorrupted = meanLD(corrupted)
        let ours = try receivers.map { try IOIPathPatching.effects(model: model, examples: examples, receiver: $0, chunkSize: 3) }
        for result in ours {
            #expect(abs(result.cleanLogitDiff - ldClean) < 1e-4 && abs(result.corruptedLogitDiff - ldCorrupted) < 1e-4)
        }
        for l in 0..<L {
            for h in 0..<H {
                // Step 2: sender from the corrupted run, every other head frozen clean.
                let step2 = examples.indices.map { i in
                    naive.run(examples[i].clean, z: { layer, head, p in
                        layer == l && head == h ? corrupted[i].z[layer][head][p] : clean[i].z[layer][head][p]
                    })
                }
                for (receiver, result) in zip(receivers, ours) {
                    let patched: [NaiveForward.Run]
                    switch receiver {
                    case .finalResidual:
                        patched = step2
                    case let .heads(heads, slot) where slot == 0:
                        // Step 3: the clean run with the receivers' queries from step 2.
                        patched = examples.indices.map { i in
                            naive.run(examples[i].clean, query: { layer, head, p in
                                heads.contains(.init(layer: layer, head: head)) ? step2[i].queries[layer][head][p] : nil
                            })
                        }
                    case let .heads(heads, _):
                        // Step 3 for value receivers: their z is the clean attention (their q and k
                        // are clean) applied to the values of step 2.
                        patched = examples.indices.map { i in
                            naive.run(examples[i].clean, z: { layer, head, p in
                                guard heads.contains(.init(layer: layer, head: head)) else { return nil }
                                let pattern = clean[i].patterns[layer][head][p]
                                return (0..<config.headDim).map { c in
                                    (0...p).reduce(0) { $0 + pattern[$1] * step2[i].values[layer][head][$1][c] }
                                }
                            })
                        }
                    }
                    let expected = (meanLD(patched) - ldClean) / (ldClean - ldCorrupted)
                    #expect(abs(result.effects[l, h] - expected) < 1e-5, "\(name) \(receiver) sender \(l).\(h)")
                }
            }
        }
    }

    /// Model, weights and logit-difference examples of a fixture (Tests/Fixtures/eap, README §3).
    static func fixture(_ name: String) throws -> (NeoXConfig, NeoXWeights, [TaskExample]) {
        let checkpoint = try NeoXCheckpoint.load(from: TaskFixtures.root.appendingPathComponent("models/\(name)"), hashContent: false)
        let task = try SafetensorsFile(url: TaskFixtures.root.appendingPathComponent("eap/\(name)/task.safetensors"))
        let cleanIDs = try task.integers("clean_ids"), corruptedIDs = try task.integers("corrupted_ids")
        let lengths = try task.integers("lengths"), labels = try task.integers("labels")
        let width = cleanIDs.count / lengths.count
        func row(_ ids: [Int], _ i: Int) -> [Int] { Array(ids[(i * width)..<(i * width + lengths[i])]) }
        let examples = lengths.indices.map { i in
            TaskExample(clean: row(cleanIDs, i), corrupted: row(corruptedIDs, i), correct: [labels[2 * i]], incorrect: [labels[2 * i + 1]])
        }
        return (checkpoint.config, checkpoint.weights, examples)
    }
}
