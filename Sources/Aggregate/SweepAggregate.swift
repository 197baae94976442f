/// Every series of a results folder with its stability measures and head-score summaries,
/// and the cross-scale summary per task: what `aggregate.h5`, the CSV files and the report hold.
public struct SweepAggregate: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var series: CheckpointSeries
        public var stability: StabilitySeries
        /// By score name, sorted.
        public var heads: [HeadSeries]
    }

    public var entries: [Entry]
    public var scale: [ScaleSummary]
    /// Files left out and why (each names the file), and inconsistencies found while merging.
    public var problems: [String]

    /// Builds the aggregate from series; `problems` carries over what reading found.
    public init(series: [CheckpointSeries], problems: [String] = []) {
        var problems = problems
        entries = series.sorted { $0.key < $1.key }.map { s in
            let names = Set(s.records.flatMap(\.headScores.keys)).sorted()
            let heads = names.compactMap { name -> HeadSeries? in
                let found = HeadSeries(name: name, series: s)
                if found == nil { problems.append("\(s.key): head score '\(name)' changes shape between checkpoints; left out") }
                return found
            }
            return Entry(series: s, stability: StabilitySeries(s), heads: heads)
        }
        let groups = Dictionary(grouping: series) { [$0.key.task, $0.key.analysis] }
        scale = groups.keys.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }.map {
            ScaleSummary(task: $0[0], analysis: $0[1], series: groups[$0] ?? [])
        }
        self.problems = problems
    }
}
