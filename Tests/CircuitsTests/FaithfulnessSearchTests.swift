import Testing
@testable import Circuits

@Suite struct FaithfulnessSearchTests {
    /// A monotone curve: F(n) = n / 1000 (ratio with full = 1, empty = 0).
    @Test func findsExactCrossingOnMonotoneCurve() {
        let search = FaithfulnessSearch(policy: .init(), fullMetric: 1, emptyMetric: 0, maximumSize: 10_000)
        var evaluated: [Int] = []
        let result = search.run(evaluate: { n in evaluated.append(n); return Double(n) / 1000 })
        #expect(result.reached)
        #expect(result.minimalSize == 800)
        #expect(Set(evaluated).count == evaluated.count, "no size evaluated twice")
        #expect(result.curve.map(\.size) == result.curve.map(\.size).sorted())
        #expect(result.curve.last?.size == 1600)
        #expect(evaluated.count < 120)
    }

    @Test func neverReachingThresholdRecordsEnd() {
        let search = FaithfulnessSearch(policy: .init(), fullMetric: 2, emptyMetric: 0, maximumSize: 5000)
        let result = search.run(evaluate: { _ in 1.0 })
        #expect(!result.reached)
        #expect(result.minimalSize == 1600)
    }

    @Test func endIsClampedToGraphSize() {
        let search = FaithfulnessSearch(policy: .init(start: 5, end: 1600, step: 5), fullMetric: 1, emptyMetric: 0, maximumSize: 102)
        let result = search.run(evaluate: { n in Double(n) / 102 })
        #expect(result.curve.allSatisfy { $0.size <= 102 })
        #expect(result.minimalSize == 82)  // 82/102 = 0.804
    }

    @Test func normalizedFaithfulnessSubtractsTheEmptyCircuit() {
        let policy = FaithfulnessSearchPolicy(threshold: 0.5, normalization: .normalized)
        // M(n) goes from empty = -1 to full = 1: normalized F = (M+1)/2 ≥ 0.5 ⇔ M ≥ 0.
        let search = FaithfulnessSearch(policy: policy, fullMetric: 1, emptyMetric: -1, maximumSize: 4000)
        let result = search.run(evaluate: { n in -1 + 2 * Double(n) / 1000 })
        #expect(result.minimalSize == 500)
        #expect(result.curve.first { $0.size == 500 }.map { abs($0.normalized - 0.5) < 1e-12 } == true)
    }

    @Test func nearThresholdProbesCatchAnEarlierCrossingBelowTheBinarySearchResult() {
        // Non-monotone: passes at 310, fails 311...319, passes from 320 on.
        let search = FaithfulnessSearch(policy: .init(), fullMetric: 1, emptyMetric: 0, maximumSize: 2000)
        let result = search.run(evaluate: { n in
            n >= 320 ? 0.85 : (n == 316 ? 0.81 : 0.79)
        })
        #expect(result.minimalSize == 316)
    }

    @Test func ratioIsUndefinedForZeroFullMetric() {
        #expect(FaithfulnessNormalization.ratio.faithfulness(circuit: 1, full: 0, empty: 0).isNaN)
        #expect(FaithfulnessNormalization.normalized.faithfulness(circuit: 1, full: 2, empty: 2).isNaN)
    }
}
