import HDF5
import Results

/// One series' group in `aggregate.h5`. Absent values are stored as NaN (floats), −1
/// (integers) or "" (strings); in-circuit edges as CSR (`circuit/offsets` into the edge arrays).
enum SeriesCodec {
    static func encode(_ entry: SweepAggregate.Entry, into group: HDF5Group) throws {
        let series = entry.series, records = series.records
        try group.setAttribute("model", series.key.model)
        try group.setAttribute("task", series.key.task)
        try group.setAttribute("analysis", series.key.analysis)
        try group.setAttribute("parameter_count", Int64(series.parameterCount ?? -1))
        try group.setAttribute("reference_index", Int64(entry.stability.referenceIndex ?? -1))

        try group.createDataset("revisions", strings: records.map(\.revision))
        try group.createDataset("steps", values: records.map { Int64($0.step ?? -1) })
        try group.createDataset("tokens", values: records.map { Int64($0.tokens ?? -1) })
        try group.createDataset("behaviour_metric", strings: records.map { $0.behaviourMetric ?? "" })
        try group.createDataset("behaviour_mean", values: records.map { $0.behaviourMean ?? .nan })
        try group.createDataset("accuracy", values: records.map { $0.accuracy ?? .nan })
        try group.createDataset("full_metric", values: records.map { $0.fullMetric ?? .nan })
        try group.createDataset("empty_metric", values: records.map { $0.emptyMetric ?? .nan })
        try group.createDataset("graph_edges", values: records.map { Int64($0.graphEdgeCount ?? -1) })

        let circuits = records.map(\.circuit)
        try group.createDataset("circuit_edges", values: circuits.map { Int64($0?.edges.count ?? -1) })
        try group.createDataset("circuit_nodes", values: circuits.map { Int64($0?.nodes.count ?? -1) })
        try group.createDataset("faithfulness", values: circuits.map { $0?.faithfulness ?? .nan })
        try group.createDataset("circuit/source", strings: circuits.map { $0?.source ?? "" })
        var offsets: [Int64] = [0]
        for c in circuits { offsets.append(offsets[offsets.count - 1] + Int64(c?.edges.count ?? 0)) }
        try group.createDataset("circuit/offsets", values: offsets)
        try group.createDataset("circuit/edge_index", values: circuits.flatMap { $0?.edges ?? [] }.map(Int64.init))
        try group.createDataset("circuit/edge_score", values: circuits.flatMap { $0?.scores ?? [] })
        try group.createDataset("circuit/sender", strings: circuits.flatMap { $0?.senders ?? [] })
        try group.createDataset("circuit/receiver", strings: circuits.flatMap { $0?.receivers ?? [] })

        let s = entry.stability
        let stability = try group.createGroup("stability")
        try stability.createDataset("from_index", values: s.fromIndex.map(Int64.init))
        try stability.createDataset("to_index", values: s.toIndex.map(Int64.init))
        for (name, values) in [("edge_jaccard", s.edgeJaccard), ("edge_jaccard_ewma", s.edgeJaccardEWMA),
                               ("node_jaccard", s.nodeJaccard), ("node_jaccard_ewma", s.nodeJaccardEWMA),
                               ("weighted_jaccard", s.weightedJaccard), ("change_rate", s.changeRate),
                               ("weighted_edit_distance", s.weightedEditDistance),
                               ("total_score_change", s.totalScoreChange),
                               ("edge_jaccard_to_reference", s.edgeJaccardToReference),
                               ("node_jaccard_to_reference", s.nodeJaccardToReference),
                               ("weighted_jaccard_to_reference", s.weightedJaccardToReference)] {
            try stability.createDataset(name, values: values)
        }
        try stability.createDataset("edit_distance", values: s.editDistance.map(Int64.init))

        for head in entry.heads {
            let g = try group.createGroup("heads/\(head.name)")
            try g.createDataset("values", values: head.values, shape: [records.count, head.layers, head.heads])
            try g.createDataset("max_over_heads", values: head.maxOverHeads)
            try g.createDataset("max_over_circuit_heads", values: head.maxOverCircuitHeads)
            try g.createDataset("candidates", values: head.candidates.flatMap { [Int64($0.layer), Int64($0.head)] },
                                shape: [head.candidates.count, 2])
            try g.setAttribute("threshold", head.threshold)
            try g.setAttribute("emergence_index", Int64(head.emergenceIndex ?? -1))
        }
    }

    static func decode(_ group: HDF5Group) throws -> CheckpointSeries {
        func ints(_ name: String) throws -> [Int] { try group.dataset(name).read(Int64.self, shape: .rank(1)).values.map(Int.init) }
        func doubles(_ name: String) throws -> [Double] { try group.dataset(name).read(Double.self, shape: .rank(1)).values }
        func strings(_ name: String) throws -> [String] { try group.dataset(name).readStrings(shape: .rank(1)).values }
        func optional(_ x: Int) -> Int? { x < 0 ? nil : x }
        func optional(_ x: Double) -> Double? { x.isNaN ? nil : x }

        let revisions = try strings("revisions")
        let n = revisions.count
        let columns = try (steps: ints("steps"), tokens: ints("tokens"), metric: strings("behaviour_metric"),
                           mean: doubles("behaviour_mean"), accuracy: doubles("accuracy"),
                           full: doubles("full_metric"), empty: doubles("empty_metric"),
                           graphEdges: ints("graph_edges"), faithfulness: doubles("faithfulness"),
                           source: strings("circuit/source"), offsets: ints("circuit/offsets"),
                           edges: ints("circuit/edge_index"),
                           scores: group.dataset("circuit/edge_score").read(Float.self, shape: .rank(1)).values,
                           senders: strings("circuit/sender"), receivers: strings("circuit/receiver"))
        let total = columns.offsets.last ?? 0
        guard [columns.steps.count, columns.tokens.count, columns.metric.count, columns.mean.count,
               columns.accuracy.count, columns.full.count, columns.empty.count, columns.graphEdges.count,
               columns.faithfulness.count, columns.source.count].allSatisfy({ $0 == n }),
              columns.offsets.count == n + 1, zip(columns.offsets, columns.offsets.dropFirst()).allSatisfy({ $0 <= $1 }),
              [columns.edges.count, columns.scores.count, columns.senders.count, columns.receivers.count].allSatisfy({ $0 == total })
        else { throw AggregateFileError(file: group.filePath, reason: "per-checkpoint columns disagree in length") }

        var heads: [String: HDF5Array<Float>] = [:]
        if try group.exists("heads") {
            for name in try group.group("heads").childNames() {
                let array = try group.dataset("heads/\(name)/values").read(Float.self, shape: .rank(3))
                guard array.shape[0] == n else {
                    throw AggregateFileError(file: group.filePath, reason: "heads/\(name)/values has \(array.shape[0]) rows for \(n) checkpoints")
                }
                heads[name] = array
            }
        }
        var records: [CheckpointRecord] = []
        for i in 0..<n {
            let range = columns.offsets[i]..<columns.offsets[i + 1]
            let circuit = columns.source[i].isEmpty ? nil : CircuitSnapshot(
                edges: Array(columns.edges[range]), scores: Array(columns.scores[range]),
                senders: Array(columns.senders[range]), receivers: Array(columns.receivers[range]),
                faithfulness: optional(columns.faithfulness[i]), source: columns.source[i])
            var scores: [String: HeadScores] = [:]
            for (name, array) in heads {
                let size = array.shape[1] * array.shape[2]
                let slice = Array(array.values[(i * size)..<((i + 1) * size)])
                if !slice.allSatisfy(\.isNaN) { scores[name] = HeadScores(layers: array.shape[1], heads: array.shape[2], values: slice) }
            }
            records.append(CheckpointRecord(
                revision: revisions[i], step: optional(columns.steps[i]), tokens: optional(columns.tokens[i]),
                behaviourMetric: columns.metric[i].isEmpty ? nil : columns.metric[i],
                behaviourMean: optional(columns.mean[i]), accuracy: optional(columns.accuracy[i]),
                fullMetric: optional(columns.full[i]), emptyMetric: optional(columns.empty[i]),
                graphEdgeCount: optional(columns.graphEdges[i]), circuit: circuit, headScores: scores))
        }
        let key = SeriesKey(model: try group.stringAttribute("model"), task: try group.stringAttribute("task"),
                            analysis: try group.stringAttribute("analysis"))
        let parameters = try group.attribute("parameter_count", as: Int64.self)
        return CheckpointSeries(key: key, parameterCount: parameters < 0 ? nil : Int(parameters), records: records)
    }
}
