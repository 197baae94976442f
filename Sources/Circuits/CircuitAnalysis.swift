/// Something that can run a model with a circuit patched in (spec §5.3) on a fixed set of
/// examples: edges outside the circuit carry the corrupted run's activations.
public protocol CircuitEvaluating {
    /// Per-example metric values of the clean run (every edge in).
    func fullModelValues() throws -> [Double]
    /// Per-example metric values of the corrupted run (no edge in).
    func emptyCircuitValues() throws -> [Double]
    /// Per-example metric values with `circuit` patched in.
    func values(of circuit: Circuit) throws -> [Double]
}

/// What a unit asks of circuit discovery.
public struct CircuitAnalysisRequest: Sendable, Equatable {
    public var selection: CircuitSelection = .greedy
    /// Requested sizes (edges before pruning) to select and evaluate.
    public var sizes: [Int] = []
    /// Minimal-faithful-circuit search, or nil to skip it.
    public var search: FaithfulnessSearchPolicy?

    public init(selection: CircuitSelection = .greedy, sizes: [Int] = [], search: FaithfulnessSearchPolicy? = nil) {
        self.selection = selection
        self.sizes = sizes
        self.search = search
    }
}

/// An evaluated circuit of a requested size.
public struct EvaluatedCircuit: Sendable, Equatable {
    public var requestedSize: Int
    public var circuit: Circuit
    public var perExample: [Double]
    public var mean: Double { perExample.isEmpty ? .nan : perExample.reduce(0, +) / Double(perExample.count) }
}

/// Circuits, baselines and the faithfulness search for one set of edge scores.
public struct CircuitAnalysisResult: Sendable {
    public var fullPerExample: [Double]
    public var emptyPerExample: [Double]
    public var circuits: [EvaluatedCircuit]
    public var search: FaithfulnessSearchResult?
    /// The selected circuit at the minimal faithful size (the search's result).
    public var minimal: EvaluatedCircuit?

    public var fullMean: Double { fullPerExample.reduce(0, +) / Double(max(1, fullPerExample.count)) }
    public var emptyMean: Double { emptyPerExample.reduce(0, +) / Double(max(1, emptyPerExample.count)) }
}

/// Selects and evaluates circuits from edge scores: the requested sizes, then the minimal
/// faithful circuit. Every circuit of one requested size is selected and evaluated once.
public enum CircuitAnalysis {
    /// Phases reported to `progress`.
    public enum Progress: Sendable {
        case baselines
        case size(Int, index: Int, of: Int)
        case search(size: Int)
    }

    public static func run(
        graph: CircuitGraph, scores: [Float], request: CircuitAnalysisRequest,
        evaluator: some CircuitEvaluating, progress: (Progress) -> Void = { _ in }
    ) throws -> CircuitAnalysisResult {
        progress(.baselines)
        let full = try evaluator.fullModelValues()
        let empty = try evaluator.emptyCircuitValues()
        var evaluated: [Int: EvaluatedCircuit] = [:]
        func circuit(ofSize n: Int) throws -> EvaluatedCircuit {
            if let known = evaluated[n] { return known }
            let selected = graph.selectCircuit(request.selection, edgeCount: n, scores: scores)
            let values = selected.edgeCount == 0 ? empty : try evaluator.values(of: selected)
            let result = EvaluatedCircuit(requestedSize: n, circuit: selected, perExample: values)
            evaluated[n] = result
            return result
        }
        var circuits: [EvaluatedCircuit] = []
        let sizes = Array(Set(request.sizes)).sorted()
        for (index, n) in sizes.enumerated() {
            progress(.size(n, index: index, of: sizes.count))
            circuits.append(try circuit(ofSize: n))
        }
        var result = CircuitAnalysisResult(fullPerExample: full, emptyPerExample: empty, circuits: circuits)
        if let policy = request.search {
            let mean = { (values: [Double]) in values.reduce(0, +) / Double(max(1, values.count)) }
            let search = FaithfulnessSearch(policy: policy, fullMetric: mean(full), emptyMetric: mean(empty),
                                            maximumSize: graph.edgeCount)
            let outcome = try search.run(evaluate: { n in try circuit(ofSize: n).mean },
                                         progress: { progress(.search(size: $0)) })
            result.search = outcome
            result.minimal = try circuit(ofSize: outcome.minimalSize)
        }
        return result
    }
}
