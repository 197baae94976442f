import Results

/// Which series a unit result belongs to: one model on one task under one analysis.
public struct SeriesKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var model: String
    public var task: String
    /// The analysis folder when the sweep ran several analyses (`<model>/<task>/<analysis>/`), else "".
    public var analysis: String

    public init(model: String, task: String, analysis: String = "") {
        self.model = model
        self.task = task
        self.analysis = analysis
    }

    public static func < (a: SeriesKey, b: SeriesKey) -> Bool {
        (a.task, a.analysis, a.model) < (b.task, b.analysis, b.model)
    }

    public var description: String { analysis.isEmpty ? "\(model)/\(task)" : "\(model)/\(task)/\(analysis)" }
}

/// One model's checkpoints on one task, in training order.
public struct CheckpointSeries: Sendable, Equatable {
    public let key: SeriesKey
    public let parameterCount: Int?
    /// Ordered by training step; revisions without a step come last, by name.
    public let records: [CheckpointRecord]

    public init(key: SeriesKey, parameterCount: Int?, records: [CheckpointRecord]) {
        self.key = key
        self.parameterCount = parameterCount
        self.records = records.sorted { ($0.step ?? .max, $0.revision) < ($1.step ?? .max, $1.revision) }
    }

    /// The comparison checkpoint for "to final" measures: step 143000 when present, else the
    /// last checkpoint with a circuit.
    public var referenceIndex: Int? {
        let withCircuit = records.indices.filter { records[$0].circuit != nil }
        return withCircuit.first { records[$0].step == 143_000 } ?? withCircuit.last
    }
}
