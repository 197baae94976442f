/// How a series' circuit changes over training (spec/paper-pipeline.md §4): measures between
/// consecutive checkpoints that both have a circuit, and against the reference checkpoint.
public struct StabilitySeries: Sendable, Equatable {
    /// Record indices of each consecutive pair (checkpoints without a circuit are skipped).
    public var fromIndex: [Int] = []
    public var toIndex: [Int] = []
    /// Edge-set Jaccard of each pair and its EWMA (the paper's Fig. "circuit stability").
    public var edgeJaccard: [Double] = []
    public var edgeJaccardEWMA: [Double] = []
    /// The same on node sets (the paper's text says nodes; its figure code uses edges).
    public var nodeJaccard: [Double] = []
    public var nodeJaccardEWMA: [Double] = []
    /// Score-weighted Jaccard of each pair and the EWMA change rate of 1 − WJ.
    public var weightedJaccard: [Double] = []
    public var changeRate: [Double] = []
    /// Graph edit distance, its score-weighted form, and GTD (Σ|Δscore| over shared edges).
    public var editDistance: [Int] = []
    public var weightedEditDistance: [Double] = []
    public var totalScoreChange: [Double] = []
    /// Per record, against the reference checkpoint (NaN where a record has no circuit).
    public var edgeJaccardToReference: [Double] = []
    public var nodeJaccardToReference: [Double] = []
    public var weightedJaccardToReference: [Double] = []
    public var referenceIndex: Int?

    /// The EWMA's α (0.5 in the paper's figure and [S2]).
    public static let alpha = 0.5

    public init(_ series: CheckpointSeries) {
        let records = series.records
        let indexed = records.indices.compactMap { i in records[i].circuit.map { (i, $0) } }
        let nodeIDs = NodeInterner(indexed.map(\.1))
        var nodeSets: [Int: [Int]] = [:]
        for (i, circuit) in indexed { nodeSets[i] = nodeIDs.ids(circuit) }
        for (a, b) in zip(indexed, indexed.dropFirst()) {
            fromIndex.append(a.0)
            toIndex.append(b.0)
            let (x, y) = (a.1, b.1)
            edgeJaccard.append(SetSimilarity.jaccard(x.edges, y.edges))
            nodeJaccard.append(SetSimilarity.jaccard(nodeSets[a.0] ?? [], nodeSets[b.0] ?? []))
            weightedJaccard.append(SetSimilarity.weightedJaccard(x.edges, x.scores, y.edges, y.scores))
            editDistance.append(SetSimilarity.editDistance(x.edges, y.edges))
            weightedEditDistance.append(SetSimilarity.weightedEditDistance(x.edges, x.scores, y.edges, y.scores))
            totalScoreChange.append(SetSimilarity.totalScoreChange(x.edges, x.scores, y.edges, y.scores))
        }
        edgeJaccardEWMA = SetSimilarity.ewma(edgeJaccard, alpha: Self.alpha)
        nodeJaccardEWMA = SetSimilarity.ewma(nodeJaccard, alpha: Self.alpha)
        changeRate = SetSimilarity.changeRate(weightedJaccards: weightedJaccard, alpha: Self.alpha)

        referenceIndex = series.referenceIndex
        let reference = referenceIndex.flatMap { records[$0].circuit }
        let referenceNodes = referenceIndex.flatMap { nodeSets[$0] } ?? []
        for (i, record) in records.enumerated() {
            guard let circuit = record.circuit, let reference else {
                edgeJaccardToReference.append(.nan)
                nodeJaccardToReference.append(.nan)
                weightedJaccardToReference.append(.nan)
                continue
            }
            edgeJaccardToReference.append(SetSimilarity.jaccard(circuit.edges, reference.edges))
            nodeJaccardToReference.append(SetSimilarity.jaccard(nodeSets[i] ?? [], referenceNodes))
            weightedJaccardToReference.append(
                SetSimilarity.weightedJaccard(circuit.edges, circuit.scores, reference.edges, reference.scores))
        }
    }
}

/// Numbers node names consistently across a series so node sets compare as sorted id arrays.
private struct NodeInterner {
    private var table: [String: Int] = [:]

    init(_ circuits: [CircuitSnapshot]) {
        for name in Set(circuits.flatMap(\.nodes)).sorted() { table[name] = table.count }
    }

    func ids(_ circuit: CircuitSnapshot) -> [Int] { circuit.nodes.compactMap { table[$0] }.sorted() }
}
