import Foundation
import NeoX
import Testing
@testable import Tasks
import Tensor

@Suite struct HeadScoreTests {
    /// Distinct tokens 1..<64 in a seeded order, `half` of them, repeated.
    static func distinctRepeated(half: Int, seed: UInt64) -> [Int] {
        var tokens = Array(1..<64)
        var random = SeededRandom(seed: seed)
        random.shuffle(&tokens)
        let first = Array(tokens.prefix(half))
        return first + first
    }

    @Test func scorerOnExactSyntheticPatterns() throws {
        let half = 10, n = 2 * half
        func pattern(_ target: (Int) -> Int?) -> Tensor {
            var t = Tensor(zeros: [n, n])
            for q in 0..<n {
                if let k = target(q), k >= 0, k <= q { t[q, k] = 1 } else {
                    for k in 0...q { t[q, k] = 1 / Float(q + 1) }
                }
            }
            return t
        }
        let previous = pattern { $0 - 1 }
        let induction = pattern { $0 >= half ? $0 - half + 1 : nil }
        let duplicate = pattern { $0 >= half ? $0 - half : nil }
        let scores = try RepeatedTokenScores.scores(layers: 1, heads: 3, sequences: [Array(0..<n)]) { _ in
            [[previous, induction, duplicate]]
        }
        #expect(scores.previousToken[0, 0] == 1)
        // The diagonal's first entry (q = half − 1, k = 0) is uniform attention 1/half there.
        #expect(abs(scores.induction[0, 1] - (Double(half) + 1 / Double(half)) / Double(half + 1)) < 1e-6)
        #expect(scores.duplicateToken[0, 2] == 1)
        #expect(scores.induction[0, 0] < 0.1 && scores.previousToken[0, 2] < 0.2)
    }

    @Test func handBuiltPreviousTokenAndInductionHeads() throws {
        let (config, weights) = HandBuiltModels.inductionModel()
        let model = try NeoXModel(config: config, weights: weights)
        let sequences = [Self.distinctRepeated(half: 30, seed: 1), Self.distinctRepeated(half: 30, seed: 2)]
        let scores = try RepeatedTokenScores.scores(layers: 2, heads: 2, sequences: sequences) {
            try model.attentionPatterns(tokens: $0)
        }
        // 0.0 is the previous-token head, 1.0 the induction head (maximum 30/31 by the diagonal rule).
        #expect(scores.previousToken[0, 0] > 0.95)
        #expect(scores.induction[1, 0] > 0.9)
        #expect(scores.previousToken.argmax == (0, 0))
        #expect(scores.induction.argmax == (1, 0))
        // Everything else is near chance (uniform causal attention gives ≈ 1/(q+1)).
        for (l, h) in [(0, 1), (1, 1)] {
            #expect(scores.induction[l, h] < 0.05 && scores.previousToken[l, h] < 0.1 && scores.duplicateToken[l, h] < 0.05)
        }
        #expect(scores.induction[0, 0] < 0.05 && scores.previousToken[1, 0] < 0.1)
        #expect(scores.duplicateToken[1, 0] < 0.05)
    }

    /// The weight-based scores read from a prepared model's buffers equal those read from the
    /// HF weights it was built from (the worker keeps only the model).
    @Test func weightScoresFromTheModelEqualThoseFromTheWeights() throws {
        let config = NeoXConfig(vocabSize: 512, hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256,
                                maxPositionEmbeddings: 256)
        let weights = NeoXWeights.random(config: config, seed: 5, scale: 0.3)
        let model = try NeoXModel(config: config, weights: weights)
        let fromWeights = ScoreWeights(config: config, weights: weights), fromModel = ScoreWeights(model: model)
        let parts: [ScoreWeights.Part] = [.embedIn, .embedOut, .finalNormWeight, .finalNormBias, .inputNormWeight(1),
                                          .qkvWeight(1), .denseWeight(0), .mlpInWeight(0), .mlpInBias(0),
                                          .mlpOutWeight(0), .mlpOutBias(0)]
        for part in parts { #expect(fromModel.tensor(part) == fromWeights.tensor(part), "\(part)") }
        let ids = [3, 500, 17]
        #expect(fromModel.rows(ids, of: .embedOut) == fromWeights.rows(ids, of: .embedOut))
        let lists = [SuccessorScores.ResolvedList(ids: Array(0..<12), cyclic: true)]
        #expect(try SuccessorScores.scores(weights: fromModel, lists: lists) == SuccessorScores.scores(weights: fromWeights, lists: lists))
        let sequences = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]
        let sites = (0..<2).flatMap { s in [0, 2, 4].map { CopyScores.Site(sequence: s, position: $0) } }
        let residual: CopyScores.ResidualSource = { tokens in
            try model.hiddenStates(inputIds: [tokens]).residuals[1].reshaped([tokens.count, config.hiddenSize])
        }
        let a = try CopyScores.bothSigns(weights: fromModel, sequences: sequences, sites: sites, residuals: residual)
        let b = try CopyScores.bothSigns(weights: fromWeights, sequences: sequences, sites: sites, residuals: residual)
        #expect(a.copy == b.copy && a.negative == b.negative)
    }

    @Test func randomModelScoresNearChance() throws {
        let config = NeoXConfig(vocabSize: 512, hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256,
                                maxPositionEmbeddings: 256)
        let model = NeoXModel.random(config: config, seed: 7)
        let sequences = RepeatedTokenScores.sequences(seed: 3, batch: 2, half: 50, tokenRange: 1..<512)
        let scores = try RepeatedTokenScores.scores(layers: 2, heads: 4, sequences: sequences) {
            try model.attentionPatterns(tokens: $0)
        }
        for value in scores.induction.values + scores.duplicateToken.values { #expect(value < 0.1) }
        for value in scores.previousToken.values { #expect(value < 0.15) }
    }

    @Test func handBuiltCopyingHead() throws {
        let (config, weights) = HandBuiltModels.copyModel(seed: 5)
        let model = try NeoXModel(config: config, weights: weights)
        // Sequences of "names" 0..<8 mixed with other tokens; sites at the names.
        var random = SeededRandom(seed: 9)
        var sequences: [[Int]] = []
        var sites: [CopyScores.Site] = []
        for s in 0..<10 {
            let sequence = (0..<6).map { i in i % 2 == 0 ? random.nextInt(below: 8) : random.nextInt(in: 8..<64) }
            sequences.append(sequence)
            for p in stride(from: 0, to: 6, by: 2) { sites.append(CopyScores.Site(sequence: s, position: p)) }
        }
        let residual: CopyScores.ResidualSource = { tokens in
            try model.hiddenStates(inputIds: [tokens]).residuals[1].reshaped([tokens.count, config.hiddenSize])
        }
        let copy = try CopyScores.scores(config: config, weights: weights, sequences: sequences, sites: sites, residuals: residual)
        #expect(copy[1, 0] == 100)
        #expect(copy[1, 1] < 50)
        #expect(copy.argmax == (1, 0))
        let negative = try CopyScores.scores(config: config, weights: weights, sequences: sequences, sites: sites,
                                             negative: true, residuals: residual)
        #expect(negative[1, 0] == 0)
    }

    @Test func handBuiltSuccessorHead() throws {
        let (config, weights) = HandBuiltModels.successorModel()
        let list = SuccessorScores.ResolvedList(ids: Array(0..<8), cyclic: true)
        let grid = try SuccessorScores.scores(config: config, weights: weights, lists: [list, list])
        #expect(grid[0, 0] == 1)
        #expect(grid[0, 1] <= 0.125 + 1e-12, "a zero head's table is flat: only ties at the first token count")
    }

    @Test func successorListsResolveOnPythiaTokenizer() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let lists = SuccessorScores.resolve(tokenizer: tokenizer, vocabSize: 50_304)
        let pairs = lists.reduce(0) { $0 + $1.pairs.count }
        #expect(lists.count == 36)
        #expect(pairs > 300)
    }

    @Test func repeatedSequencesAreSeeded() {
        let a = RepeatedTokenScores.sequences(seed: 1)
        #expect(a == RepeatedTokenScores.sequences(seed: 1))
        #expect(a != RepeatedTokenScores.sequences(seed: 2))
        #expect(a.count == 2 && a.allSatisfy { $0.count == 200 && Array($0[0..<100]) == Array($0[100...]) })
        #expect(a.joined().allSatisfy { (100..<20_000).contains($0) })
    }
}

@Suite struct HeadScoreNamingTests {
    /// The names are the `/heads/<score>` names of schemas/unit-result.md.
    @Test func namesMatchUnitResultSchema() {
        #expect(HeadScoreKind.allCases.map(\.rawValue) ==
                ["induction", "previous_token", "duplicate_token", "successor", "copy", "negative_copy",
                 "copy_suppression", "direct_effect", "s_inhibition"])
        #expect(HeadScoreKind.successor.needsForward == false)
    }

    @Test func gridRowsAndArgmax() {
        var grid = HeadScoreGrid(layers: 2, heads: 3)
        grid[1, 2] = 5
        grid[0, 1] = 2
        #expect(grid.rows == [[0, 2, 0], [0, 0, 5]])
        #expect(grid.argmax == (1, 2))
    }
}
