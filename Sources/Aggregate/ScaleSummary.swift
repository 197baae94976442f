/// Circuit size against model size for one task (spec/paper-pipeline.md §7.3): the mean node
/// count of each model's circuits from step 1000 on, and Pearson's r against parameter count.
public struct ScaleSummary: Sendable, Equatable {
    public var task: String
    public var analysis: String
    /// Models with a parameter count and at least one circuit, smallest first.
    public var models: [String]
    public var parameterCounts: [Int]
    public var meanCircuitNodes: [Double]
    public var meanCircuitEdges: [Double]
    /// Pearson r of mean nodes vs parameters; nil for fewer than 3 models.
    public var nodesVersusParameters: Double?

    /// Checkpoints before this step are left out of the means, as the paper's correlation script does.
    public static let firstStep = 1000

    public init(task: String, analysis: String, series: [CheckpointSeries]) {
        self.task = task
        self.analysis = analysis
        var rows: [(model: String, parameters: Int, nodes: Double, edges: Double)] = []
        for s in series {
            guard let parameters = s.parameterCount else { continue }
            let circuits = s.records.filter { ($0.step ?? .max) >= Self.firstStep }.compactMap(\.circuit)
            guard !circuits.isEmpty else { continue }
            let n = Double(circuits.count)
            rows.append((s.key.model, parameters,
                         circuits.reduce(0.0) { $0 + Double($1.nodes.count) } / n,
                         circuits.reduce(0.0) { $0 + Double($1.edges.count) } / n))
        }
        rows.sort { ($0.parameters, $0.model) < ($1.parameters, $1.model) }
        models = rows.map(\.model)
        parameterCounts = rows.map(\.parameters)
        meanCircuitNodes = rows.map(\.nodes)
        meanCircuitEdges = rows.map(\.edges)
        nodesVersusParameters = SetSimilarity.pearson(parameterCounts.map(Double.init), meanCircuitNodes)
    }
}
