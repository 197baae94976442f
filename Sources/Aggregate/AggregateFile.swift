import Foundation
import HDF5
import Results

/// `aggregate.h5` (schemas/aggregate.md, layout v1): every series' checkpoints (behaviour,
/// circuit size, in-circuit edges with scores, head scores) and what is derived from them
/// (stability measures, head-score summaries, cross-scale summaries). Reading rebuilds the
/// series from the stored checkpoints and derives the rest anew, so a file always agrees with
/// the code that reads it.
public enum AggregateFile {
    public static let format = "circuitsweep-aggregate"
    public static let schemaVersion = 1

    /// Writes atomically (temporary file, fsync, rename).
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    public static func write(_ aggregate: SweepAggregate, to url: URL, softwareVersion: String) throws {
        try HDF5AtomicWriter.write(to: url) { file in
            try file.setAttribute("format", format)
            try file.setAttribute("schema_version", Int64(schemaVersion))
            try file.setAttribute("software_version", softwareVersion)
            if !aggregate.problems.isEmpty { try file.createDataset("problems", strings: aggregate.problems) }
            for (n, entry) in aggregate.entries.enumerated() {
                try SeriesCodec.encode(entry, into: file.createGroup("series/\(n)"))
            }
            for (n, summary) in aggregate.scale.enumerated() {
                let group = try file.createGroup("scale/\(n)")
                try group.setAttribute("task", summary.task)
                try group.setAttribute("analysis", summary.analysis)
                try group.setAttribute("nodes_vs_parameters_pearson", summary.nodesVersusParameters ?? .nan)
                try group.createDataset("models", strings: summary.models)
                try group.createDataset("parameter_counts", values: summary.parameterCounts.map(Int64.init))
                try group.createDataset("mean_circuit_nodes", values: summary.meanCircuitNodes)
                try group.createDataset("mean_circuit_edges", values: summary.meanCircuitEdges)
            }
        }
    }

    /// Reads an aggregate file.
    /// - Throws: ``AggregateFileError`` naming the file and what is wrong, or the HDF5 error.
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    public static func read(_ url: URL) throws -> SweepAggregate {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        guard try file.hasAttribute("format"), try file.stringAttribute("format") == format else {
            throw AggregateFileError(file: url.path, reason: "not a circuitsweep aggregate file (no format=\(format))")
        }
        let version = try file.attribute("schema_version", as: Int64.self)
        guard version == schemaVersion else {
            throw AggregateFileError(file: url.path,
                reason: "schema version \(version); this circuitsweep reads \(schemaVersion): re-run `circuitsweep aggregate`")
        }
        let problems = try file.exists("problems") ? file.dataset("problems").readStrings().values : []
        var series: [CheckpointSeries] = []
        if try file.exists("series") {
            let group = try file.group("series")
            for name in try group.childNames().sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
                do { series.append(try SeriesCodec.decode(group.group(name))) } catch let error as AggregateFileError {
                    throw AggregateFileError(file: url.path, reason: "series/\(name): \(error.reason)")
                }
            }
        }
        return SweepAggregate(series: series, problems: problems)
    }
}

/// A structurally wrong aggregate file.
public struct AggregateFileError: Error, CustomStringConvertible {
    public var file: String
    public var reason: String
    public var description: String { "\(file): \(reason)" }
}
