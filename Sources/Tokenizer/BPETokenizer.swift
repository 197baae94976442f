import Checksum
import Foundation

/// An HF `tokenizer.json` byte-level BPE tokenizer (GPT-NeoX-20B / Pythia, GPT-2 family).
///
/// Mirrors HF tokenizers' `Tokenizer.encode(text, add_special_tokens=False)` and
/// `decode(ids, skip_special_tokens=False)` for this pipeline (see shared/fixtures/README.md §4):
/// 1. added tokens that are not `normalized` (`<|endoftext|>`, `<|padding|>`) are cut out of the raw
///    text, leftmost-longest;
/// 2. each remaining piece is NFC-normalized, then the `normalized` added tokens (space runs) are
///    cut out of it, again leftmost-longest;
/// 3. the rest is split with the GPT-2 regex (`PreTokenizer`), each piece's UTF-8 bytes become
///    byte-level tokens and are merged by rank.
///
/// Encoding keeps a per-call cache of BPE results per piece, so long texts cost one BPE per
/// distinct word.
public struct BPETokenizer: Sendable {
    /// SHA-256 of the `tokenizer.json` bytes, lowercase hex: the identity datasets are keyed by.
    public let sha256: String
    /// Number of ids (base vocabulary plus added tokens; the largest id + 1).
    public let vocabularySize: Int

    private let idToToken: [String?]
    private let tokenToID: [String: Int]
    private let byteIDs: [Int]
    /// (left id << 32 | right id) → (rank, merged id).
    private let merges: [UInt64: MergeResult]
    private let rawAddedTokens: [AddedTokenMatcher.Entry]
    private let normalizedAddedTokens: [AddedTokenMatcher.Entry]

    struct MergeResult: Sendable { var rank: Int32; var id: Int32 }

    /// Loads `tokenizer.json` from disk.
    /// - Throws: `TokenizerError` naming the file when it cannot be read or is not byte-level BPE.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: url.path)
    }

    /// Builds the tokenizer from the bytes of a `tokenizer.json`; `path` only labels errors.
    public init(data: Data, path: String = "<memory>") throws {
        let file: TokenizerFile
        do { file = try JSONDecoder().decode(TokenizerFile.self, from: data) } catch {
            throw TokenizerError.unsupported(path: path, reason: "not a tokenizer.json: \(error)")
        }
        guard file.model.type == "BPE" else {
            throw TokenizerError.unsupported(path: path, reason: "model type \(file.model.type)")
        }
        guard file.preTokenizer?.type == "ByteLevel", file.decoder?.type == "ByteLevel" else {
            throw TokenizerError.unsupported(path: path, reason: "pre-tokenizer/decoder is not ByteLevel")
        }
        guard file.preTokenizer?.addPrefixSpace != true, file.preTokenizer?.useRegex != false else {
            throw TokenizerError.unsupported(path: path, reason: "ByteLevel add_prefix_space or use_regex=false")
        }
        if let normalizer = file.normalizer, normalizer.type != "NFC" {
            throw TokenizerError.unsupported(path: path, reason: "normalizer \(normalizer.type)")
        }
        if file.model.dropout != nil || file.model.byteFallback == true {
            throw TokenizerError.unsupported(path: path, reason: "BPE dropout or byte fallback")
        }
        if file.addedTokens.contains(where: { $0.singleWord == true || $0.lstrip == true || $0.rstrip == true }) {
            throw TokenizerError.unsupported(path: path, reason: "added tokens with single_word/lstrip/rstrip")
        }

        sha256 = SHA256Hex.of(data)

        var vocab = file.model.vocab
        for added in file.addedTokens { vocab[added.content] = added.id }
        let maxID = vocab.values.max() ?? -1
        var inverse = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in vocab where id >= 0 { inverse[id] = token }
        idToToken = inverse
        tokenToID = vocab
        vocabularySize = maxID + 1

        // Bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5–0xFF) may be absent from the vocabulary;
        // every other byte must be there.
        var byteIDs = [Int](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = file.model.vocab[String(ByteLevel.scalars[b])] {
                byteIDs[b] = id
            } else if b != 0xC0 && b != 0xC1 && b < 0xF5 {
                throw TokenizerError.unsupported(path: path, reason: "byte \(b) has no vocabulary entry")
            }
        }
        self.byteIDs = byteIDs

        var merges: [UInt64: MergeResult] = [:]
        merges.reserveCapacity(file.model.merges.count)
        for (rank, merge) in file.model.merges.enumerated() {
            guard let left = file.model.vocab[merge.left], let right = file.model.vocab[merge.right],
                  let merged = file.model.vocab[merge.left + merge.right] else {
                throw TokenizerError.badMerge(path: path, merge: merge.spelling)
            }
            let key = UInt64(left) << 32 | UInt64(right)
            if merges[key] == nil { merges[key] = MergeResult(rank: Int32(rank), id: Int32(merged)) }
        }
        self.merges = merges

        rawAddedTokens = file.addedTokens.filter { !$0.normalized }
            .map { AddedTokenMatcher.Entry(scalars: Array($0.content.unicodeScalars), id: $0.id) }
        normalizedAddedTokens = file.addedTokens.filter { $0.normalized }
            .map { AddedTokenMatcher.Entry(scalars: Array($0.content.unicodeScalars), id: $0.id) }
    }

    // MARK: Encoding

    /// Token ids of `text`, without BOS/EOS (`add_special_tokens=False`).
    public func encode(_ text: String) -> [Int] {
        var cache: [[UInt8]: [Int]] = [:]
        var ids: [Int] = []
        let scalars = Array(text.unicodeScalars)
        for segment in AddedTokenMatcher.split(scalars, on: rawAddedTokens) {
            switch segment {
            case let .added(id):
                ids.append(id)
            case let .text(range):
                let normalized = Self.nfc(scalars[range])
                for inner in AddedTokenMatcher.split(normalized, on: normalizedAddedTokens) {
                    switch inner {
                    case let .added(id):
                        ids.append(id)
                    case let .text(innerRange):
                        encodeOrdinary(Array(normalized[innerRange]), into: &ids, cache: &cache)
                    }
                }
            }
        }
        return ids
    }

    /// The vocabulary id of a token spelled in byte-level form (e.g. "Ġthe"), if any.
    public func id(ofToken token: String) -> Int? { tokenToID[token] }

    /// The byte-level spelling of `id` (e.g. "Ġthe"), if it is in the vocabulary.
    public func token(of id: Int) -> String? {
        id >= 0 && id < idToToken.count ? idToToken[id] : nil
    }

    /// The id of `text` when it encodes to exactly one token, else nil.
    public func singleTokenID(_ text: String) -> Int? {
        let ids = encode(text)
        return ids.count == 1 ? ids[0] : nil
    }

    private func encodeOrdinary(_ scalars: [Unicode.Scalar], into ids: inout [Int], cache: inout [[UInt8]: [Int]]) {
        var bytes: [UInt8] = []
        for range in PreTokenizer.split(scalars) {
            bytes.removeAll(keepingCapacity: true)
            for scalar in scalars[range] { UTF8.encode(scalar) { bytes.append($0) } }
            if let cached = cache[bytes] {
                ids.append(contentsOf: cached)
                continue
            }
            let word = bytePairEncode(bytes)
            cache[bytes] = word
            ids.append(contentsOf: word)
        }
    }

    /// Merges the byte tokens of one pre-token by rank: repeatedly merge every occurrence of the
    /// lowest-ranked adjacent pair, left to right (GPT-2 `bpe`, HF `Word::merge_all`).
    private func bytePairEncode(_ bytes: [UInt8]) -> [Int] {
        var word = bytes.map { Int32(byteIDs[Int($0)]) }
        while word.count > 1 {
            var best = MergeResult(rank: .max, id: -1)
            var bestLeft: Int32 = -1, bestRight: Int32 = -1
            for k in 0..<(word.count - 1) {
                if let merge = merges[UInt64(word[k]) << 32 | UInt64(word[k + 1])], merge.rank < best.rank {
                    best = merge
                    bestLeft = word[k]
                    bestRight = word[k + 1]
                }
            }
            if best.id < 0 { break }
            var merged: [Int32] = []
            merged.reserveCapacity(word.count)
            var k = 0
            while k < word.count {
                if k + 1 < word.count && word[k] == bestLeft && word[k + 1] == bestRight {
                    merged.append(best.id)
                    k += 2
                } else {
                    merged.append(word[k])
                    k += 1
                }
            }
            word = merged
        }
        return word.map(Int.init)
    }

    /// NFC of a run of scalars. Text below U+0300 is already NFC and nothing in it composes, so
    /// the common case skips Foundation.
    private static func nfc(_ scalars: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        if scalars.allSatisfy({ $0.value < 0x300 }) { return Array(scalars) }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return Array(String(view).precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    // MARK: Decoding

    /// The text of `ids` (`skip_special_tokens=False`): ByteLevel decoding, invalid UTF-8 replaced
    /// by U+FFFD.
    /// - Throws: `TokenizerError.unknownID` for an id outside the vocabulary.
    public func decode(_ ids: [Int]) throws(TokenizerError) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard let token = token(of: id) else { throw .unknownID(id) }
            bytes.append(contentsOf: ByteLevel.decodedBytes(of: token))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
