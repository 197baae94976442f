/// One head score (induction, successor, copy, …) of a series over training, with the
/// summaries spec/paper-pipeline.md §5.6 asks for.
public struct HeadSeries: Sendable, Equatable {
    public var name: String
    public var layers: Int
    public var heads: Int
    /// [records, layers, heads] row-major; NaN where a checkpoint lacks the score.
    public var values: [Float]
    /// Per record, the largest score over all heads, and over that checkpoint's circuit heads
    /// (NaN when the score or the circuit is missing, or the circuit has no head).
    public var maxOverHeads: [Double]
    public var maxOverCircuitHeads: [Double]
    /// `candidateFraction` × the largest score anywhere in the series.
    public var threshold: Double
    /// The first record at which a circuit head of that checkpoint reaches `threshold`.
    public var emergenceIndex: Int?
    /// Heads reaching `threshold` at some checkpoint that are circuit heads at some checkpoint,
    /// most checkpoints in the circuit first (ties: higher peak score, then lower layer.head);
    /// at most `candidateLimit`. The first is the series' representative head.
    public var candidates: [HeadIndex]

    /// figure_2.py's frac.
    public static let candidateFraction = 0.33
    /// The per-model figure's top-5.
    public static let candidateLimit = 5

    public var representative: HeadIndex? { candidates.first }

    /// Nil when no checkpoint of the series has this score, or when its checkpoints disagree on
    /// the [layers, heads] shape (``SweepAggregate`` reports that as a problem).
    public init?(name: String, series: CheckpointSeries) {
        let records = series.records
        guard let first = records.lazy.compactMap({ $0.headScores[name] }).first else { return nil }
        let (layers, heads) = (first.layers, first.heads)
        let size = layers * heads
        guard records.allSatisfy({ r in r.headScores[name].map { $0.layers == layers && $0.heads == heads } ?? true })
        else { return nil }
        self.name = name
        self.layers = layers
        self.heads = heads

        values = []
        maxOverHeads = []
        maxOverCircuitHeads = []
        values.reserveCapacity(records.count * size)
        let circuitHeadsByRecord = records.map { $0.circuit?.circuitHeads ?? [] }
        var peak = -Double.infinity
        for (record, circuitHeads) in zip(records, circuitHeadsByRecord) {
            guard let scores = record.headScores[name] else {
                values += Array(repeating: .nan, count: size)
                maxOverHeads.append(.nan)
                maxOverCircuitHeads.append(.nan)
                continue
            }
            values += scores.values
            let top = scores.values.map(Double.init).max() ?? .nan
            maxOverHeads.append(top)
            peak = max(peak, top)
            maxOverCircuitHeads.append(circuitHeads.map { Double(scores[$0.layer, $0.head]) }.max() ?? .nan)
        }
        threshold = Self.candidateFraction * peak
        let threshold = threshold
        emergenceIndex = records.indices.first { i in
            guard let scores = records[i].headScores[name] else { return false }
            return circuitHeadsByRecord[i].contains { Double(scores[$0.layer, $0.head]) >= threshold }
        }

        var peakOf: [HeadIndex: Double] = [:], checkpointsInCircuit: [HeadIndex: Int] = [:]
        for (record, circuitHeads) in zip(records, circuitHeadsByRecord) {
            if let scores = record.headScores[name] {
                for l in 0..<layers {
                    for h in 0..<heads {
                        let head = HeadIndex(layer: l, head: h)
                        peakOf[head] = max(peakOf[head] ?? -.infinity, Double(scores[l, h]))
                    }
                }
            }
            for head in circuitHeads { checkpointsInCircuit[head, default: 0] += 1 }
        }
        candidates = checkpointsInCircuit.keys
            .filter { (peakOf[$0] ?? -.infinity) >= threshold }
            .sorted { a, b in
                let (ca, cb) = (checkpointsInCircuit[a] ?? 0, checkpointsInCircuit[b] ?? 0)
                if ca != cb { return ca > cb }
                let (pa, pb) = (peakOf[a] ?? 0, peakOf[b] ?? 0)
                return pa != pb ? pa > pb : a < b
            }
            .prefix(Self.candidateLimit).map { $0 }
    }

    /// The score of `head` at every record (NaN where missing).
    public func trajectory(of head: HeadIndex) -> [Double] {
        let size = layers * heads
        return (0..<(values.count / max(size, 1))).map { Double(values[$0 * size + head.layer * heads + head.head]) }
    }
}
