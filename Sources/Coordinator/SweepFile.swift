import Checksum
import Foundation
import Sweep

/// Loading a sweep file and previewing its plan (for `circuitsweep plan`).
public enum SweepFile {
    /// Reads and parses a sweep file.
    /// - Returns: the spec and its results folder (relative paths resolved against the file's folder).
    /// - Throws: ``SweepSpecError`` with file, line and column.
    public static func load(_ path: String) throws(SweepSpecError) -> (spec: SweepSpec, results: URL) {
        let url = URL(fileURLWithPath: path)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw SweepSpecError(file: path, line: 0, column: 0, message: "cannot read: \(error.localizedDescription)")
        }
        let spec = try SweepSpec.parse(yaml: text, file: url.lastPathComponent)
        let results = spec.results.hasPrefix("/")
            ? URL(fileURLWithPath: spec.results)
            : url.deletingLastPathComponent().appendingPathComponent(spec.results)
        return (spec, results.standardizedFileURL)
    }

    /// The plan the coordinator would make now: reads the journal read-only when it exists
    /// and re-hashes done results.
    @available(*, noasync)
    public static func preview(
        _ spec: SweepSpec, results: URL, resultSchemaVersion: Int = 1,
        datasets: DatasetProvider = CoordinatorConfiguration.taskSpecDataset
    ) throws -> [PlannedUnit] {
        var hashes: [String: String] = [:]
        for task in spec.tasks { hashes[task.name] = SHA256Hex.of(try datasets(task)) }
        let journalPath = results.appendingPathComponent("journal.sqlite").path
        let rows = FileManager.default.fileExists(atPath: journalPath) ? try Journal(readOnlyPath: journalPath).units() : []
        let store = ResultStore(root: results)
        return Planner.plan(spec, datasetHash: { hashes[$0.name] ?? $0.specHash }, resultSchemaVersion: resultSchemaVersion,
                            journal: rows) { store.verify($0, sha256: $1, packed: $2) }
    }
}
