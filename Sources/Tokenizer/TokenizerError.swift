/// Errors from loading a `tokenizer.json` or from encoding/decoding with it.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not a `tokenizer.json` this module supports.
    case unsupported(path: String, reason: String)
    /// A merge names a token that is not in the vocabulary.
    case badMerge(path: String, merge: String)
    /// A token id outside the vocabulary was passed to `decode`.
    case unknownID(Int)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case let .unsupported(path, reason):
            return "unsupported tokenizer file \(path): \(reason); only HF byte-level BPE (GPT-NeoX / GPT-2 style) is supported"
        case let .badMerge(path, merge):
            return "tokenizer file \(path): merge \"\(merge)\" names a token missing from the vocabulary"
        case let .unknownID(id):
            return "token id \(id) is not in the tokenizer's vocabulary"
        }
    }
}
