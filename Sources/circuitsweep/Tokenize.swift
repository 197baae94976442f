import ArgumentParser
import Foundation
import Tokenizer

/// `circuitsweep tokenize`: encode text or decode ids with a `tokenizer.json`, printing JSON.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode text or decode token ids with an HF byte-level BPE tokenizer.json; prints JSON."
    )

    @Option(help: "Path to tokenizer.json.")
    var tokenizer: String

    @Option(help: "Text to encode (no BOS/EOS added).")
    var text: String?

    @Option(help: "Comma-separated token ids to decode, e.g. 12092,1533.")
    var decode: String?

    func validate() throws {
        guard (text == nil) != (decode == nil) else {
            throw ValidationError("give exactly one of --text or --decode")
        }
        if let decode, Self.parseIDs(decode) == nil {
            throw ValidationError("--decode needs comma-separated non-negative integers, got \(decode.debugDescription)")
        }
    }

    func run() throws {
        let bpe = try BPETokenizer(contentsOf: URL(fileURLWithPath: tokenizer))
        let output: TokenizeOutput
        if let text {
            let ids = bpe.encode(text)
            output = TokenizeOutput(text: text, ids: ids, tokens: ids.map { bpe.token(of: $0) ?? "" }, tokenizerSHA256: bpe.sha256)
        } else {
            let ids = Self.parseIDs(decode ?? "") ?? []
            output = TokenizeOutput(text: try bpe.decode(ids), ids: ids, tokens: ids.map { bpe.token(of: $0) ?? "" }, tokenizerSHA256: bpe.sha256)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }

    static func parseIDs(_ list: String) -> [Int]? {
        let parts = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let ids = parts.compactMap { Int($0) }
        return ids.count == parts.count && ids.allSatisfy({ $0 >= 0 }) ? ids : nil
    }
}

/// What `tokenize` prints.
struct TokenizeOutput: Encodable {
    var text: String
    var ids: [Int]
    var tokens: [String]
    var tokenizerSHA256: String

    enum CodingKeys: String, CodingKey {
        case text, ids, tokens
        case tokenizerSHA256 = "tokenizer_sha256"
    }
}
