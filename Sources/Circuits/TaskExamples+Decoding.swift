import Foundation

/// Why an examples file could not be used. Every case names the file and, where it applies,
/// the example index.
public enum TaskExamplesError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case malformed(file: String, reason: String)
    case unknownMetric(file: String, metric: String)
    case empty(file: String)
    case invalidExample(file: String, index: Int, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read the examples file: \(reason)"
        case let .malformed(file, reason): "\(file): not a valid examples file (schemas/examples.schema.json): \(reason)"
        case let .unknownMetric(file, metric):
            "\(file): unknown metric '\(metric)'; use one of \(TaskMetric.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .empty(file): "\(file): the examples list is empty; a task needs at least one example"
        case let .invalidExample(file, index, reason): "\(file): example \(index): \(reason)"
        }
    }
}

extension TaskExamples {
    /// Reads and structurally validates an examples file.
    /// - Throws: `TaskExamplesError` naming the file and the offending example.
    public static func load(from url: URL) throws(TaskExamplesError) -> TaskExamples {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try decode(data, file: url.path)
    }

    /// Decodes and structurally validates examples JSON (`file` names the source in errors).
    public static func decode(_ data: Data, file: String) throws(TaskExamplesError) -> TaskExamples {
        struct RawFile: Decodable {
            var metric: String
            var examples: [RawExample]
        }
        struct RawExample: Decodable {
            var clean: [Int]
            var corrupted: [Int]
            var correct: [Int]
            var incorrect: [Int]
        }
        let raw: RawFile
        do { raw = try JSONDecoder().decode(RawFile.self, from: data) } catch let error as DecodingError {
            throw describe(error, file: file)
        } catch {
            throw .malformed(file: file, reason: "\(error)")
        }
        guard let metric = TaskMetric(rawValue: raw.metric) else { throw .unknownMetric(file: file, metric: raw.metric) }
        guard !raw.examples.isEmpty else { throw .empty(file: file) }
        var examples: [TaskExample] = []
        examples.reserveCapacity(raw.examples.count)
        for (index, item) in raw.examples.enumerated() {
            let example = TaskExample(clean: item.clean, corrupted: item.corrupted,
                                      correct: item.correct, incorrect: item.incorrect)
            if let problem = example.structuralProblem {
                throw .invalidExample(file: file, index: index, reason: problem.description)
            }
            examples.append(example)
        }
        return TaskExamples(metric: metric, examples: examples)
    }

    /// Turns a decoding error into a message naming the example index and field.
    private static func describe(_ error: DecodingError, file: String) -> TaskExamplesError {
        let (context, what): (DecodingError.Context?, String) = switch error {
        case let .dataCorrupted(c): (c, "invalid JSON")
        case let .keyNotFound(key, c): (c, "missing field '\(key.stringValue)'")
        case let .typeMismatch(type, c): (c, "expected \(type == Int.self ? "an integer token id" : "\(type)")")
        case let .valueNotFound(type, c): (c, "missing \(type)")
        @unknown default: (nil, "\(error)")
        }
        let path = context?.codingPath ?? []
        if path.count >= 2, path[0].stringValue == "examples", let index = path[1].intValue {
            let field = path.dropFirst(2).map(\.stringValue).joined(separator: ".")
            return .invalidExample(file: file, index: index, reason: field.isEmpty ? what : "\(field): \(what)")
        }
        let location = path.map(\.stringValue).joined(separator: ".")
        return .malformed(file: file, reason: location.isEmpty ? what : "\(location): \(what)")
    }

    /// Checks the examples against a model's vocabulary and context length.
    /// - Throws: `TaskExamplesError.invalidExample` naming the first bad example.
    public func validate(vocabularySize: Int, contextLength: Int, file: String) throws(TaskExamplesError) {
        guard !examples.isEmpty else { throw .empty(file: file) }
        if let (index, problem) = firstProblem(vocabularySize: vocabularySize, contextLength: contextLength) {
            throw .invalidExample(file: file, index: index, reason: problem.description)
        }
    }
}
