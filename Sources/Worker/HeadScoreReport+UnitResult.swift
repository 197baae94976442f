import Circuits
import Results
import Tasks

extension UnitResult {
    /// Stores head scores as `/heads/<name>` arrays and the S-inhibition flip checks as `/s2i`
    /// (schemas/unit-result.md), replacing arrays of the same names.
    public mutating func store(_ report: HeadScorer.Report) {
        for (kind, grid) in report.grids {
            headScores[kind.rawValue] = HeadScores(layers: grid.layers, heads: grid.heads, values: grid.values.map(Float.init))
        }
        if let checks = report.s2iChecks { s2iChecks = S2IChecks(checks) }
    }
}

extension S2IChecks {
    /// The stored form of the flip checks (float32 changes, NaN where not measured).
    public init(_ checks: S2IFlipChecks) {
        self.init(
            layers: checks.layers, heads: checks.heads, flips: checks.flips.map(\.rawValue),
            candidateSource: checks.candidateSource.rawValue, candidates: checks.candidates, nameMovers: checks.nameMovers,
            s2i: checks.s2i, logitDiffChange: checks.logitDiffChange.map(Float.init),
            ioAttentionChange: checks.ioAttentionChange.map(Float.init), s1AttentionChange: checks.s1AttentionChange.map(Float.init),
            s2AttentionChange: checks.s2AttentionChange.map(Float.init),
            baseline: checks.baseline.map {
                Baseline(logitDiff: $0.logitDiff, ioAttention: $0.ioAttention, s1Attention: $0.s1Attention, s2Attention: $0.s2Attention)
            })
    }
}

extension CircuitUnitOutcome {
    /// In-circuit edge names of the unit's circuit for the S2I candidates: the minimal faithful
    /// circuit, else the largest top-n circuit (the aggregate's choice); nil when the unit's task
    /// is not IOI (its circuit says nothing about the IOI name movers) or it selected no circuit.
    public func ioiCircuitEdges(task: String) -> [String]? {
        guard task == TaskKind.ioi.rawValue else { return nil }
        let circuit = analysis.minimal?.circuit ?? analysis.circuits.max { $0.requestedSize < $1.requestedSize }?.circuit
        return circuit?.edgeNames
    }
}
