/// Errors from generating a task dataset.
public enum TaskError: Error, Equatable, CustomStringConvertible {
    /// The tokenizer cannot supply enough single-token words of a kind.
    case notEnoughSingleTokens(task: TaskKind, what: String, found: Int, needed: Int)
    /// A required word or answer is not a single token.
    case notSingleToken(task: TaskKind, text: String)
    /// Clean and corrupted prompts tokenized to different lengths.
    case lengthMismatch(task: TaskKind, clean: String, corrupted: String)
    /// The requested size cannot be produced.
    case badSize(task: TaskKind, size: Int, reason: String)
    /// A dataset file does not parse or fails its hash.
    case badDatasetFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notEnoughSingleTokens(task, what, found, needed):
            return "\(task.rawValue): the tokenizer has only \(found) \(what) that are single tokens, \(needed) needed; use a GPT-NeoX/Pythia tokenizer or extend the word pools"
        case let .notSingleToken(task, text):
            return "\(task.rawValue): \(text.debugDescription) is not a single token for this tokenizer; the task needs it as one"
        case let .lengthMismatch(task, clean, corrupted):
            return "\(task.rawValue): clean \(clean.debugDescription) and corrupted \(corrupted.debugDescription) have different token lengths"
        case let .badSize(task, size, reason):
            return "\(task.rawValue): cannot generate \(size) examples: \(reason)"
        case let .badDatasetFile(path, reason):
            return "dataset file \(path): \(reason); regenerate it with `circuitsweep dataset`"
        }
    }
}
