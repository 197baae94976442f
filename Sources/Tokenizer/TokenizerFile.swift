/// The parts of HF `tokenizer.json` this module reads. Key names are the file's, written once here.
struct TokenizerFile: Decodable {
    struct AddedToken: Decodable {
        var id: Int
        var content: String
        var special: Bool
        var normalized: Bool
        var singleWord: Bool?
        var lstrip: Bool?
        var rstrip: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content, special, normalized, lstrip, rstrip
            case singleWord = "single_word"
        }
    }

    struct Component: Decodable {
        var type: String
        var addPrefixSpace: Bool?
        var useRegex: Bool?

        enum CodingKeys: String, CodingKey {
            case type
            case addPrefixSpace = "add_prefix_space"
            case useRegex = "use_regex"
        }
    }

    /// A merge is written "left right" (tokenizers < 0.20) or ["left", "right"] (newer files).
    struct Merge: Decodable {
        var left: String
        var right: String
        var spelling: String { "\(left) \(right)" }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let pair = try? container.decode([String].self) {
                guard pair.count == 2 else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "merge pair must have 2 parts")
                }
                (left, right) = (pair[0], pair[1])
                return
            }
            let text = try container.decode(String.self)
            guard let space = text.firstIndex(of: " ") else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "merge \"\(text)\" has no space")
            }
            left = String(text[..<space])
            right = String(text[text.index(after: space)...])
        }
    }

    struct Model: Decodable {
        var type: String
        var vocab: [String: Int]
        var merges: [Merge]
        var dropout: Double?
        var byteFallback: Bool?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges, dropout
            case byteFallback = "byte_fallback"
        }
    }

    var addedTokens: [AddedToken]
    var normalizer: Component?
    var preTokenizer: Component?
    var decoder: Component?
    var model: Model

    enum CodingKeys: String, CodingKey {
        case normalizer, decoder, model
        case addedTokens = "added_tokens"
        case preTokenizer = "pre_tokenizer"
    }
}
