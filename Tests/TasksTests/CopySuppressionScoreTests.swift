import Circuits
import Foundation
import NeoX
import Testing
@testable import Tasks
import Tensor

/// CSPA: known answers on hand-built heads, a random model, and equality with a naive
/// re-computation of the definition on the fixture models.
@Suite struct CopySuppressionScoreTests {
    /// "S f S f IO f f S f f": the repeated name S is always the most frequent one so far.
    static func repeatedNameSequences(count: Int, seed: UInt64) -> [[Int]] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            let (s, io) = HandBuiltModels.twoNames(&random)
            var sequence = (0..<10).map { _ in random.nextInt(in: 8..<24) }
            for p in [0, 2, 7] { sequence[p] = s }
            sequence[4] = io
            return sequence
        }
    }

    @Test func handBuiltCopySuppressionHeadScoresNearMaximum() throws {
        let (config, weights) = HandBuiltModels.copySuppressionModel(seed: 4)
        let model = try NeoXModel(config: config, weights: weights)
        let reference = Self.repeatedNameSequences(count: 40, seed: 2)
        let grid = try CopySuppressionScores.scores(model: model, sequences: Array(reference.prefix(12)), reference: reference,
                                                    functionTokens: [])
        #expect(grid[1, 0] > 0.9, "the copy-suppression head keeps its effect under CSPA")
        #expect(grid[1, 1] < 0.2, "a copying head with the same attention loses it (only negative components are kept)")
        #expect(grid[0, 1] < 0.3)
        #expect(grid.argmax == (1, 0))
    }

    @Test func randomModelScoresNearChance() throws {
        let config = NeoXConfig(vocabSize: 96, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64,
                                maxPositionEmbeddings: 64)
        let model = NeoXModel.random(config: config, seed: 9, scale: 0.5)
        var random = SeededRandom(seed: 4)
        let reference = (0..<30).map { _ in (0..<16).map { _ in random.nextInt(below: 96) } }
        let grid = try CopySuppressionScores.scores(model: model, sequences: Array(reference.prefix(8)), reference: reference,
                                                    functionTokens: [])
        for value in grid.values { #expect(value < 0.3, "\(grid.rows)") }
    }

    @Test func badInputIsRejected() throws {
        let (config, weights) = HandBuiltModels.copySuppressionModel(seed: 4)
        let model = try NeoXModel(config: config, weights: weights)
        #expect(throws: HeadScoreError.self) { try CopySuppressionScores.scores(model: model, sequences: [], reference: [[1]], functionTokens: []) }
        do {
            _ = try CopySuppressionScores.scores(model: model, sequences: [Array(repeating: 9, count: 65)],
                                                 reference: [Array(repeating: 9, count: 65)], functionTokens: [])
            Issue.record("a sequence longer than the context must fail")
        } catch let error as HeadScoreError {
            #expect(error.description.contains("1...64"))
        }
        #expect(throws: HeadScoreError.self) {
            try CopySuppressionScores.scores(model: model, sequences: [[1, 2, 3]], reference: [[1, 2]], functionTokens: [])
        }
        #expect(throws: HeadScoreError.self) {
            try CopySuppressionScores.scores(model: model, sequences: [[1, 99]], reference: [[1, 2]], functionTokens: [])
        }
    }

    @Test func corpusKeepsLongDocumentsWithBOS() throws {
        let encode: (String) -> [Int] = { text in text.components(separatedBy: " ").map(\.count) }
        let corpus = try CopySuppressionScores.corpus(documents: ["a bb", "a bb ccc", "dddd e ff g"], encode: encode, bos: 0,
                                                      minimumTokens: 3, count: 2)
        #expect(corpus == [[0, 1, 2, 3], [0, 4, 1, 2, 1]])
        #expect(throws: HeadScoreError.self) {
            try CopySuppressionScores.corpus(documents: ["a bb"], encode: encode, bos: 0, minimumTokens: 3, count: 1)
        }
    }

    /// The score equals the definition computed naively: a Double forward, per-head loops.
    @Test(arguments: [("neox-tiny", 0.05), ("neox-tiny", 0.3), ("neox-small-seq", 0.2)])
    func fixtureScoresMatchNaiveComputation(_ name: String, _ fraction: Double) throws {
        let (config, weights, examples) = try IOIPathPatchingTests.fixture(name)
        let model = try NeoXModel(config: config, weights: weights)
        let reference = examples.flatMap { [$0.clean, $0.corrupted] }
        let sequences = Array(examples.prefix(4).map(\.clean))
        let functionTokens: Set<Int> = [sequences[0][1], sequences[1][2]]
        let ours = try CopySuppressionScores.scores(model: model, sequences: sequences, reference: reference,
                                                    functionTokens: functionTokens, keptFraction: fraction)
        let expected = Self.naiveCSPA(config: config, weights: weights, sequences: sequences, reference: reference,
                                      functionTokens: functionTokens, fraction: fraction)
        for l in 0..<config.numLayers {
            for h in 0..<config.numHeads {
                #expect(abs(ours[l, h] - expected[l][h]) < 1e-6, "\(name) head \(l).\(h): \(ours[l, h]) vs \(expected[l][h])")
            }
        }
        #expect(Set(ours.values).count > 1, "scores differ between heads")
    }

    /// CSPA written out from its definition (schemas/head-scores.md) with `NaiveForward`.
    static func naiveCSPA(
        config: NeoXConfig, weights: NeoXWeights, sequences: [[Int]], reference: [[Int]], functionTokens: Set<Int>, fraction: Double
    ) -> [[Double]] {
        let naive = NaiveForward(config: config, weights: weights)
        let L = config.numLayers, H = config.numHeads, d = config.hiddenSize, dh = config.headDim, V = config.vocabSize
        func centre(_ x: [Double]) -> [Double] { let m = x.reduce(0, +) / Double(x.count); return x.map { $0 - m } }
        func headVector(_ v: [Double], layer l: Int, head h: Int) -> [Double] {
            (0..<d).map { o in (0..<dh).reduce(0) { $0 + Double(weights.layers[l].denseWeight.storage[o * d + h * dh + $1]) * v[$1] } }
        }
        let unembedding = (0..<V).map { t in (0..<d).map { Double(weights.embedOut.storage[t * d + $0]) } }
        func row(_ t: Int) -> [Double] { unembedding[t] }
        let g = weights.finalLayerNormWeight.storage.map(Double.init)
        // Means of the centred head results per position.
        let P = reference.map(\.count).max()!
        var sums = [[[[Double]]]](repeating: [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: d), count: P), count: H), count: L)
        var counts = [Double](repeating: 0, count: P)
        for tokens in reference {
            let run = naive.run(tokens)
            for p in tokens.indices { counts[p] += 1 }
            for l in 0..<L {
                for h in 0..<H {
                    for p in tokens.indices {
                        let result = centre(headVector(run.z[l][h][p], layer: l, head: h))
                        for c in 0..<d { sums[l][h][p][c] += result[c] }
                    }
                }
            }
        }
        let meanUnembedding = (0..<d).map { c in (0..<V).reduce(0) { $0 + row($1)[c] } / Double(V) }
        let units = (0..<V).map { t -> [Double] in
            let w = (0..<d).map { g[$0] * (row(t)[$0] - meanUnembedding[$0]) }
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 1e-6 ? w.map { $0 / norm } : w.map { _ in 0 }
        }
        func logProbabilities(_ logits: [Double]) -> [Double] {
            let top = logits.max()!
            let log = top + Foundation.log(logits.reduce(0) { $0 + Foundation.exp($1 - top) })
            return logits.map { $0 - log }
        }
        var klCSPA = [[Double]](repeating: [Double](repeating: 0, count: H), count: L), klMean = klCSPA
        for tokens in sequences {
            let run = naive.run(tokens)
            let n = tokens.count
            let sigma = run.residuals[L].map { x -> Double in
                let m = x.reduce(0, +) / Double(d)
                return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(d) + Double(config.layerNormEps)).squareRoot()
            }
            let logits = run.finalNorm.map { naive.logits($0) }
            for l in 0..<L {
                // The QK filter.
                var kept = [[Bool]](repeating: [Bool](repeating: false, count: n), count: n)
                for q in 0..<n {
                    let x = centre(run.residuals[l][q])
                    var lens = [Double](repeating: -1e9, count: n)
                    for k in 0...q where !functionTokens.contains(tokens[k]) {
                        lens[k] = (0..<d).reduce(0) { $0 + x[$1] / sigma[q] * g[$1] * row(tokens[k])[$1] }
                    }
                    let first = (0..<n).map { k in tokens[..<k].contains(tokens[k]) ? -1e9 : lens[k] }
                    let threshold = first.sorted(by: >)[Int((fraction * Double(q + 1)).rounded(.up)) - 1]
                    for k in 0...q { kept[q][k] = lens[k] + 1e-6 >= threshold }
                }
                for h in 0..<H {
                    let outputs = (0..<n).map { centre(headVector(run.values[l][h][$0], layer: l, head: h)) }
                    for q in 0..<n {
                        let mean = sums[l][h][q].map { $0 / counts[q] }
                        var result = [Double](repeating: 0, count: d), cspa = mean
                        for k in 0...q {
                            let a = run.patterns[l][h][q][k]
                            for c in 0..<d { result[c] += a * outputs[k][c] }
                            if kept[q][k] {
                                let w = units[tokens[k]]
                                let coefficient = (0..<d).reduce(0) { $0 + a * (outputs[k][$1] - mean[$1]) * w[$1] }
                                if coefficient < 0 { for c in 0..<d { cspa[c] += coefficient * w[c] } }
                            }
                        }
                        let original = logProbabilities(logits[q])
                        for (target, sum) in [(cspa, 0), (mean, 1)] {
                            let shift = (0..<d).map { (target[$0] - result[$0]) * g[$0] / sigma[q] }
                            let changed = logProbabilities((0..<V).map { t in logits[q][t] + (0..<d).reduce(0) { $0 + shift[$1] * row(t)[$1] } })
                            let kl = (0..<V).reduce(0) { $0 + Foundation.exp(original[$1]) * (original[$1] - changed[$1]) }
                            if sum == 0 { klCSPA[l][h] += kl } else { klMean[l][h] += kl }
                        }
                    }
                }
            }
        }
        return (0..<L).map { l in (0..<H).map { h in klMean[l][h] > 0 ? 1 - klCSPA[l][h] / klMean[l][h] : 0 } }
    }
}
