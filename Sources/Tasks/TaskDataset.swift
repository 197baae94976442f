import Checksum
import Circuits
import Foundation

/// A generated task dataset, as written to disk (`schemas/examples.schema.json`).
///
/// It is a superset of `Circuits.TaskExamples` (`metric`, `examples[].{clean, corrupted, correct,
/// incorrect}`), so the attribution code can decode the same file; the extra keys record how the
/// data was made and let it be verified. Files are canonical JSON: sorted keys, no whitespace, so
/// the same inputs give byte-identical files. `dataset_sha256` is the SHA-256 of the canonical
/// JSON of the dataset with that key left out.
public struct TaskDataset: Sendable, Codable, Equatable {
    /// One example with its text.
    public struct Example: Sendable, Codable, Equatable {
        public var clean: [Int]
        public var corrupted: [Int]
        public var correct: [Int]
        public var incorrect: [Int]
        public var cleanText: String
        public var corruptedText: String

        public init(clean: [Int], corrupted: [Int], correct: [Int], incorrect: [Int], cleanText: String, corruptedText: String) {
            self.clean = clean
            self.corrupted = corrupted
            self.correct = correct
            self.incorrect = incorrect
            self.cleanText = cleanText
            self.corruptedText = corruptedText
        }

        enum CodingKeys: String, CodingKey {
            case clean, corrupted, correct, incorrect
            case cleanText = "clean_text"
            case corruptedText = "corrupted_text"
        }
    }

    /// Version of this file layout.
    public static let currentFormatVersion = 1
    /// Version of the generators; bumped whenever the same parameters would give other examples.
    public static let currentGeneratorVersion = 1

    public var formatVersion: Int
    public var generatorVersion: Int
    public var task: TaskKind
    public var metric: TaskMetric
    public var size: Int
    public var seed: UInt64
    /// Whether every prompt starts with BOS (`<|endoftext|>`, id 0), as EAP-IG's `tokenize_plus` does.
    public var prependBOS: Bool
    public var tokenizerSHA256: String
    /// SHA-256 of the canonical JSON without this key; nil only while hashing.
    public var datasetSHA256: String?
    public var examples: [Example]

    enum CodingKeys: String, CodingKey {
        case task, metric, size, seed, examples
        case formatVersion = "format_version"
        case generatorVersion = "generator_version"
        case prependBOS = "prepend_bos"
        case tokenizerSHA256 = "tokenizer_sha256"
        case datasetSHA256 = "dataset_sha256"
    }

    /// The examples in the attribution code's model.
    public var taskExamples: TaskExamples {
        TaskExamples(metric: metric, examples: examples.map {
            TaskExample(clean: $0.clean, corrupted: $0.corrupted, correct: $0.correct, incorrect: $0.incorrect)
        })
    }

    /// Canonical JSON: sorted keys, compact, slashes unescaped.
    public func canonicalJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// SHA-256 (hex) of the canonical JSON of this dataset without `dataset_sha256`.
    public func computedSHA256() throws -> String {
        var unhashed = self
        unhashed.datasetSHA256 = nil
        return SHA256Hex.of(try unhashed.canonicalJSON())
    }

    /// Returns a copy with `datasetSHA256` filled in.
    public func hashed() throws -> TaskDataset {
        var copy = self
        copy.datasetSHA256 = try computedSHA256()
        return copy
    }

    /// Decodes a dataset file and checks its hash.
    /// - Throws: `TaskError.badDatasetFile` when it does not parse, has no hash, or the hash differs.
    public static func decode(_ data: Data, path: String) throws -> TaskDataset {
        let dataset: TaskDataset
        do { dataset = try JSONDecoder().decode(TaskDataset.self, from: data) } catch {
            throw TaskError.badDatasetFile(path: path, reason: "not a dataset file: \(error)")
        }
        guard let stored = dataset.datasetSHA256 else {
            throw TaskError.badDatasetFile(path: path, reason: "no dataset_sha256")
        }
        let actual = try dataset.computedSHA256()
        guard stored == actual else {
            throw TaskError.badDatasetFile(path: path, reason: "dataset_sha256 is \(stored) but the content hashes to \(actual)")
        }
        return dataset
    }
}
