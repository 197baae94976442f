import Testing
@testable import Circuits

/// A stand-in evaluator whose metric is the summed |score| of the circuit's edges, so the
/// analysis logic can be checked without a model.
private final class ScoreSumEvaluator: CircuitEvaluating {
    let scores: [Float]
    var calls = 0
    init(scores: [Float]) { self.scores = scores }
    func fullModelValues() -> [Double] { [Double(scores.map { abs($0) }.reduce(0, +))] }
    func emptyCircuitValues() -> [Double] { [0] }
    func values(of circuit: Circuit) -> [Double] {
        calls += 1
        return [zip(scores, circuit.edges).reduce(0) { $0 + ($1.1 ? Double(abs($1.0)) : 0) }]
    }
}

@Suite struct CircuitAnalysisTests {
    @Test func evaluatesRequestedSizesAndFindsMinimalCircuit() throws {
        let graph = CircuitGraph(layers: 3, heads: 4, parallelResidual: true)
        var state: UInt64 = 7
        let scores: [Float] = (0..<graph.edgeCount).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
        let evaluator = ScoreSumEvaluator(scores: scores)
        let request = CircuitAnalysisRequest(selection: .greedy, sizes: [20, 5, 20],
                                             search: FaithfulnessSearchPolicy(start: 10, end: 250, step: 10, curveStep: 20, threshold: 0.5))
        let result = try CircuitAnalysis.run(graph: graph, scores: scores, request: request, evaluator: evaluator)
        #expect(result.circuits.map(\.requestedSize) == [5, 20])
        let search = try #require(result.search)
        #expect(search.reached)
        let minimal = try #require(result.minimal)
        #expect(minimal.requestedSize == search.minimalSize)
        #expect(minimal.mean / result.fullMean >= 0.5)
        // The size just below the minimum (if evaluated) fails the threshold.
        if let below = search.curve.first(where: { $0.size == search.minimalSize - 1 }) { #expect(below.ratio < 0.5) }
        #expect(evaluator.calls == Set(search.curve.map(\.size) + [5, 20]).count)
    }
}
