import Circuits
import Foundation
import Sweep
import Synchronization
import Tasks
import Tokenizer

/// Why a task's dataset could not be made; names the task and the file.
public struct TaskDatasetError: Error, CustomStringConvertible {
    public var task: String
    public var detail: String
    public var description: String { "task '\(task)': \(detail)" }
}

/// The coordinator's datasets: each task's examples, made once and shipped to workers by hash.
///
/// A task with `examples: FILE` ships that file (checked against schemas/examples.schema.json);
/// any other task must be a built-in one (ioi, greater-than, gendered-pronoun, sva) and is
/// generated deterministically from the sweep's `tokenizer` with the task's size and seed.
public enum TaskDatasets {
    /// A provider resolving relative paths against `sweepDirectory` (the sweep file's folder).
    /// Sweeps whose analyses are all built-in test analyses (`noop`, `sleep`) need no examples:
    /// their "dataset" is the task spec itself.
    public static func provider(for spec: SweepSpec, sweepDirectory: URL) -> DatasetProvider {
        if spec.analyses.allSatisfy({ $0.method == .noop || $0.method == .sleep }) {
            return CoordinatorConfiguration.taskSpecDataset
        }
        let tokenizerPath = spec.tokenizer.map { resolve($0, against: sweepDirectory) }
        let cache = Mutex<BPETokenizer?>(nil)
        return { task in
            if let examples = task.examples {
                let url = resolve(examples, against: sweepDirectory)
                let data: Data
                do { data = try Data(contentsOf: url) } catch {
                    throw TaskDatasetError(task: task.name, detail: "cannot read examples file \(url.path): \(error.localizedDescription)")
                }
                do { _ = try TaskExamples.decode(data, file: url.path) } catch {
                    throw TaskDatasetError(task: task.name, detail: "\(error)")
                }
                return Array(data)
            }
            guard let kind = TaskKind(rawValue: task.name) else {
                throw TaskDatasetError(task: task.name, detail: """
                    not a built-in task (\(TaskKind.allCases.map(\.rawValue).joined(separator: ", "))); \
                    name one of those or give 'examples: FILE'
                    """)
            }
            guard let tokenizerPath else {
                throw TaskDatasetError(task: task.name, detail: "built-in tasks are generated from a tokenizer: add 'tokenizer: path/to/tokenizer.json' to the sweep file")
            }
            let tokenizer = try cache.withLock { cached throws -> BPETokenizer in
                if let cached { return cached }
                let loaded: BPETokenizer
                do { loaded = try BPETokenizer(contentsOf: tokenizerPath) } catch {
                    throw TaskDatasetError(task: task.name, detail: "cannot load tokenizer \(tokenizerPath.path): \(error)")
                }
                cached = loaded
                return loaded
            }
            let dataset = try TaskGenerator(tokenizer: tokenizer).generate(kind, size: task.size, seed: task.seed)
            return Array(try dataset.hashed().canonicalJSON())
        }
    }

    private static func resolve(_ path: String, against directory: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path).standardizedFileURL
    }
}
