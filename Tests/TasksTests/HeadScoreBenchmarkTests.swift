import Foundation
import NeoX
import Testing
@testable import Tasks

/// Head-score timings on a random-weight Pythia shape. Gated: set CIRCUITSWEEP_BENCH=1 (and
/// optionally CIRCUITSWEEP_BENCH_SHAPE=pythia-160m); run in release.
@Suite struct HeadScoreBenchmarkTests {
    static var enabled: Bool { ProcessInfo.processInfo.environment["CIRCUITSWEEP_BENCH"] == "1" }

    @Test(.enabled(if: HeadScoreBenchmarkTests.enabled))
    func timeEveryScoreOnPythiaShape() throws {
        let name = ProcessInfo.processInfo.environment["CIRCUITSWEEP_BENCH_SHAPE"] ?? "pythia-70m"
        let shape = try #require(PythiaShape(rawValue: name))
        let tokenizer = try TaskFixtures.loadTokenizer()
        let weights = NeoXWeights.random(config: shape.config, seed: 1)
        let scorer = try HeadScorer(config: shape.config, weights: weights)
        let clock = ContinuousClock()
        for kinds in [[HeadScoreKind.induction, .previousToken, .duplicateToken], [.successor], [.copy, .negativeCopy],
                      [.copySuppression], [.copy, .directEffect, .sInhibition]] {
            var scores: [HeadScoreKind: HeadScoreGrid] = [:]
            let elapsed = clock.measure { scores = (try? scorer.scores(kinds, tokenizer: tokenizer)) ?? [:] }
            #expect(scores.count == kinds.count)
            print("heads benchmark \(name) \(kinds.map(\.rawValue).joined(separator: ",")): \(elapsed)")
        }
    }

    /// The S2I flip checks of every head below two name movers placed in the second-to-last
    /// layer (random weights have none of their own), on the 70 IOI prompts.
    @Test(.enabled(if: HeadScoreBenchmarkTests.enabled))
    func timeS2IFlipChecksOnPythiaShape() throws {
        let name = ProcessInfo.processInfo.environment["CIRCUITSWEEP_BENCH_SHAPE"] ?? "pythia-70m"
        let shape = try #require(PythiaShape(rawValue: name))
        let generator = TaskGenerator(tokenizer: try TaskFixtures.loadTokenizer(), prependBOS: false)
        let examples = try generator.generate(.ioi, size: 70, seed: 42).taskExamples.examples
        let model = try NeoXModel(config: shape.config, weights: NeoXWeights.random(config: shape.config, seed: 1))
        let names = try generator.ioiNameIDs()
        let flipped = try IOIFlip.allCases.map { ($0, try $0.flipped(examples, names: names, seed: 42)) }
        let L = model.layerCount
        let movers = [PathPatcher.HeadIndex(layer: L - 2, head: 0), PathPatcher.HeadIndex(layer: L - 2, head: 1)]
        // Every head past the s_inhibition threshold, so that all heads below the movers are measured.
        let grid = HeadScoreGrid(layers: L, heads: model.heads, values: [Double](repeating: 1, count: L * model.heads))
        var checks: S2IFlipChecks?
        let elapsed = ContinuousClock().measure {
            checks = try? IOIPathPatching.flipChecks(model: model, examples: examples, flipped: flipped, nameMovers: movers,
                                                     candidates: nil, sInhibition: grid)
        }
        let measured = (L - 2) * model.heads
        #expect(checks?.baseline != nil)
        print("heads benchmark \(name) s2i flip checks, \(measured) heads below the name movers × 5 flips × 70 prompts: \(elapsed)")
    }
}
