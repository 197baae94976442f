import Circuits
import Foundation
import NeoX
import Results
import Sweep

/// What a circuit-discovery unit computes: attribution options and circuit requests.
public struct CircuitUnitSettings: Sendable, Equatable {
    public var attribution: AttributionOptions
    public var circuits: CircuitAnalysisRequest

    public init(attribution: AttributionOptions = AttributionOptions(), circuits: CircuitAnalysisRequest = CircuitAnalysisRequest()) {
        self.attribution = attribution
        self.circuits = circuits
    }
}

/// Everything a circuit-discovery unit produced, before it becomes a result file.
public struct CircuitUnitOutcome: Sendable {
    public var scores: EdgeScores
    public var analysis: CircuitAnalysisResult
    public var metric: TaskMetric
    /// Seconds per phase: `attribution`, `circuits`.
    public var timings: [String: Double]
}

/// Runs one unit's numeric pipeline: edge attribution, then circuit selection, patched
/// evaluation and the minimal-faithful-circuit search. Blocking; call it off the cooperative pool.
public enum CircuitUnit {
    /// Progress of the phases, for terminals and logs.
    public enum Progress: Sendable {
        case attribution(AttributionProgress)
        case circuits(CircuitAnalysis.Progress)
    }

    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func run(
        model: NeoXModel, examples: TaskExamples, settings: CircuitUnitSettings,
        progress: @escaping (Progress) -> Void = { _ in }
    ) throws -> CircuitUnitOutcome {
        let clock = ContinuousClock()
        let attributionStart = clock.now
        let scores = try EdgeAttribution(model: model).scores(
            examples: examples, options: settings.attribution, progress: { progress(.attribution($0)) })
        let attributionTime = clock.now - attributionStart
        let circuitsStart = clock.now
        let evaluator = try PatchedEvaluator(model: model, examples: examples)
        let analysis = try CircuitAnalysis.run(
            graph: scores.graph, scores: scores.edgeVector, request: settings.circuits,
            evaluator: evaluator, progress: { progress(.circuits($0)) })
        let circuitsTime = clock.now - circuitsStart
        return CircuitUnitOutcome(
            scores: scores, analysis: analysis, metric: examples.metric,
            timings: ["attribution": attributionTime.inSeconds, "circuits": circuitsTime.inSeconds])
    }
}

extension CircuitUnitOutcome {
    /// The result file content for this outcome (identity and provenance come from the caller).
    public func unitResult(identity: UnitIdentity, provenance: Provenance, settings: CircuitUnitSettings) -> UnitResult {
        let graph = scores.graph
        let analysis = self.analysis
        var result = UnitResult(identity: identity, provenance: provenance)
        result.method = Results.AttributionMethod(
            name: settings.attribution.method.name, steps: settings.attribution.method.steps,
            batchSize: settings.attribution.batchSize, batchNormalized: settings.attribution.batchNormalized,
            metric: metric.rawValue)
        result.numerics = Numerics(dtype: "float32", flags: ["exact-erf-gelu", "hf-rotary-tables"])
        result.attribution = Attribution(
            edgeNames: graph.edgeNames, scores: scores.edgeVector,
            graph: GraphShape(layers: graph.layers, heads: graph.heads, parallelAttentionMLP: graph.parallelResidual))
        result.circuits = analysis.circuits.map {
            SizedCircuit(requestedEdges: $0.requestedSize, mask: $0.circuit.edges, metric: $0.mean,
                         edgeCount: $0.circuit.edgeCount, nodeCount: $0.circuit.nodeCount)
        }
        result.baseline = Baseline(fullMetric: analysis.fullMean, emptyMetric: analysis.emptyMean)
        result.behaviour = Behaviour(
            metric: metric.rawValue, mean: analysis.fullMean, perExample: analysis.fullPerExample,
            accuracy: Double(analysis.fullPerExample.filter { $0 > 0 }.count) / Double(max(1, analysis.fullPerExample.count)))
        if let search = analysis.search {
            result.faithfulness = FaithfulnessCurve(
                sizes: search.curve.map(\.size), ratio: search.curve.map(\.ratio), normalized: search.curve.map(\.normalized))
            if let minimal = analysis.minimal {
                result.minimalCircuit = MinimalCircuit(
                    mask: minimal.circuit.edges, edgeCount: minimal.circuit.edgeCount, nodeCount: minimal.circuit.nodeCount,
                    faithfulness: search.policy.normalization.faithfulness(
                        circuit: minimal.mean, full: analysis.fullMean, empty: analysis.emptyMean),
                    threshold: search.policy.threshold, normalization: search.policy.normalization.rawValue)
            }
        }
        result.provenance.timings.merge(timings) { _, new in new }
        return result
    }
}

extension Circuits.AttributionMethod {
    /// Stable name used on the command line, in sweep files and in result files.
    public var name: String {
        switch self {
        case .eap: "eap"
        case .eapIGInputs: "eap-ig-inputs"
        case .cleanCorrupted: "clean-corrupted"
        }
    }

    /// IG steps, for methods that have them.
    public var steps: Int? {
        if case let .eapIGInputs(steps) = self { return steps }
        return nil
    }
}
