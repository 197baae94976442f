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
}
