import Foundation
import Results

/// Reads a results folder (`<model>/<task>[/<analysis>]/<revision>.h5`) into series. A file
/// that does not read as a unit result is left out and named in `problems`; nothing is changed
/// on disk.
public enum ResultsFolderReader {
    /// - Parameter progress: called after each file with (files done, files in all).
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    public static func read(_ root: URL, progress: (Int, Int) -> Void = { _, _ in }) -> (series: [CheckpointSeries], problems: [String]) {
        let (files, missing) = UnitResultVerifier.collect([root.path])
        var problems = missing.map { "\($0.path): \($0.problem ?? "unreadable")" }
        var records: [SeriesKey: [CheckpointRecord]] = [:]
        var parameters: [SeriesKey: Int] = [:]
        var seen: [SeriesKey: [String: String]] = [:]
        for (n, file) in files.enumerated() {
            defer { progress(n + 1, files.count) }
            let result: UnitResult
            do { result = try UnitResultFile.read(file) } catch {
                problems.append("\(error); left out (re-run the unit: `circuitsweep verify` then `circuitsweep coordinator`)")
                continue
            }
            let key = SeriesKey(model: result.identity.model, task: result.identity.task,
                                analysis: analysisFolder(of: file, under: root))
            if let earlier = seen[key]?[result.identity.revision] {
                problems.append("\(file.path): a second result for \(key) at \(result.identity.revision) (first: \(earlier)); left out")
                continue
            }
            seen[key, default: [:]][result.identity.revision] = file.path
            if let count = result.identity.parameterCount { parameters[key] = count }
            records[key, default: []].append(CheckpointRecord(result))
        }
        var series: [CheckpointSeries] = []
        for (key, list) in records {
            let counts = Set(list.compactMap(\.graphEdgeCount))
            if counts.count > 1 {
                problems.append("\(key): checkpoints have different edge counts \(counts.sorted()); stability measures compare mismatched graphs")
            }
            series.append(CheckpointSeries(key: key, parameterCount: parameters[key], records: list))
        }
        return (series, problems)
    }

    /// The `<analysis>` folder of `<root>/<model>/<task>/<analysis>/<revision>.h5`, else "".
    static func analysisFolder(of file: URL, under root: URL) -> String {
        let rootParts = root.standardizedFileURL.pathComponents
        let parts = Array(file.standardizedFileURL.pathComponents.dropFirst(rootParts.count))
        return parts.count >= 4 ? parts[2..<(parts.count - 1)].joined(separator: "/") : ""
    }
}
