/// Why one clean/corrupted example cannot be used: the single rule that decoding an examples
/// file, `TaskExamples.validate(vocabularySize:contextLength:file:)`, attribution and patched
/// evaluation all apply (schemas/examples.schema.json).
public enum ExampleProblem: Equatable, Sendable, CustomStringConvertible {
    case emptyPrompt
    case negativeTokenID(field: String, id: Int)
    case lengthMismatch(clean: Int, corrupted: Int)
    /// Both `correct` and `incorrect` need at least one id, whatever the metric.
    case missingLabels
    case promptTooLong(length: Int, maximum: Int)
    case tokenOutOfRange(field: String, id: Int, vocabSize: Int)

    public var description: String {
        switch self {
        case .emptyPrompt: "the clean prompt is empty"
        case let .negativeTokenID(field, id): "\(field) token id \(id) is negative"
        case let .lengthMismatch(clean, corrupted):
            "clean (\(clean) tokens) and corrupted (\(corrupted) tokens) prompts must have equal length"
        case .missingLabels: "needs at least one correct and one incorrect answer id"
        case let .promptTooLong(length, maximum):
            "prompt has \(length) tokens, longer than the model's context of \(maximum) (max_position_embeddings)"
        case let .tokenOutOfRange(field, id, vocab):
            "\(field) token id \(id) is not below the model's vocabulary size \(vocab)"
        }
    }
}

extension TaskExamples {
    /// The first example that is unusable with a model of this vocabulary and context, with its
    /// index, or nil.
    public func firstProblem(vocabularySize: Int, contextLength: Int) -> (index: Int, problem: ExampleProblem)? {
        for (index, example) in examples.enumerated() {
            if let problem = example.problem(vocabularySize: vocabularySize, contextLength: contextLength) {
                return (index, problem)
            }
        }
        return nil
    }
}

extension TaskExample {
    /// The token-id lists by their field names in the examples file.
    private var fields: [(name: String, ids: [Int])] {
        [("clean", clean), ("corrupted", corrupted), ("correct", correct), ("incorrect", incorrect)]
    }

    /// A problem that makes the example unusable with any model, or nil.
    public var structuralProblem: ExampleProblem? {
        if clean.isEmpty { return .emptyPrompt }
        for (name, ids) in fields {
            if let bad = ids.first(where: { $0 < 0 }) { return .negativeTokenID(field: name, id: bad) }
        }
        if clean.count != corrupted.count { return .lengthMismatch(clean: clean.count, corrupted: corrupted.count) }
        if correct.isEmpty || incorrect.isEmpty { return .missingLabels }
        return nil
    }

    /// A problem that makes the example unusable with a model of this vocabulary and context, or nil.
    public func problem(vocabularySize: Int, contextLength: Int) -> ExampleProblem? {
        if let problem = structuralProblem { return problem }
        if clean.count > contextLength { return .promptTooLong(length: clean.count, maximum: contextLength) }
        for (name, ids) in fields {
            if let bad = ids.first(where: { $0 >= vocabularySize }) {
                return .tokenOutOfRange(field: name, id: bad, vocabSize: vocabularySize)
            }
        }
        return nil
    }
}
