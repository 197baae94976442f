import NeoX
import Tensor
import Tokenizer

/// Successor (succession-head) scores, Gould et al. 2023, as the authors' newer script computes
/// them (spec/paper-pipeline.md §5.2; `get_new_successor_head_scores_over_time.py`).
///
/// For each ordinal list and each of its variants (with and without a leading space, original and
/// inverted capitalisation), the tokens S that are single tokens form the table
/// T_h = MLP0(W_E[S]) · OV_h · W_U[S]ᵀ, with no LayerNorm anywhere. A pair x → succ(x) (both in S)
/// succeeds when T_h[x, succ(x)] is the row maximum over S. The score is the mean success over all
/// valid pairs of all lists, in [0, 1]. Weight-only: no forward pass.
public enum SuccessorScores {
    /// The ordinal lists; cyclic lists also score last → first.
    public struct OrdinalList: Sendable {
        public var words: [String]
        public var cyclic: Bool
    }

    public static let lists: [OrdinalList] = [
        OrdinalList(words: (1...200).map(String.init), cyclic: false),
        OrdinalList(words: ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                            "eighteen", "nineteen", "twenty"], cyclic: false),
        OrdinalList(words: ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"], cyclic: false),
        OrdinalList(words: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"], cyclic: true),
        OrdinalList(words: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], cyclic: true),
        OrdinalList(words: ["January", "February", "March", "April", "May", "June", "July", "August",
                            "September", "October", "November", "December"], cyclic: true),
        OrdinalList(words: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], cyclic: true),
        OrdinalList(words: (0..<26).map { String(UnicodeScalar(UInt8(65 + $0))) }, cyclic: false),
        OrdinalList(words: ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X",
                            "XI", "XII", "XIII", "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX"], cyclic: false),
    ]

    /// One variant of a list resolved to token ids: `ids[i]` is nil when word i is not one token.
    struct ResolvedList {
        var ids: [Int?]
        var cyclic: Bool
        var tokens: [Int] { ids.compactMap { $0 } }
        /// (input, target) pairs where both are single tokens.
        var pairs: [(Int, Int)] {
            var result: [(Int, Int)] = []
            for i in ids.indices {
                let j = i + 1
                if j == ids.count && !cyclic { break }
                if let a = ids[i], let b = ids[j % ids.count] { result.append((a, b)) }
            }
            return result
        }
    }

    /// Every list variant, resolved with `tokenizer`; ids must be below `vocabSize`.
    static func resolve(tokenizer: BPETokenizer, vocabSize: Int) -> [ResolvedList] {
        var result: [ResolvedList] = []
        for list in lists {
            for space in [false, true] {
                for invert in [false, true] {
                    let words = list.words.map { invert ? invertCase($0) : $0 }
                    let ids = words.map { word -> Int? in
                        guard let id = tokenizer.singleTokenID((space ? " " : "") + word), id < vocabSize else { return nil }
                        return id
                    }
                    result.append(ResolvedList(ids: ids, cyclic: list.cyclic))
                }
            }
        }
        return result
    }

    /// Swaps the case of the first letter ("Monday" → "monday", "one" → "One").
    static func invertCase(_ word: String) -> String {
        guard let first = word.first else { return word }
        let head = String(first)
        let swapped = head == head.uppercased() ? head.lowercased() : head.uppercased()
        return swapped + word.dropFirst()
    }

    /// The [L, H] successor scores of a model.
    /// - Throws: `HeadScoreError.notEnoughTokens` if fewer than 10 successor pairs are single tokens.
    public static func scores(config: NeoXConfig, weights: NeoXWeights, tokenizer: BPETokenizer) throws -> HeadScoreGrid {
        try scores(config: config, weights: weights, lists: resolve(tokenizer: tokenizer, vocabSize: config.vocabSize))
    }

    static func scores(config: NeoXConfig, weights: NeoXWeights, lists: [ResolvedList]) throws -> HeadScoreGrid {
        try scores(weights: ScoreWeights(config: config, weights: weights), lists: lists)
    }

    /// The [L, H] successor scores of a prepared model (reads its buffers; no second copy).
    static func scores(model: NeoXModel, tokenizer: BPETokenizer) throws -> HeadScoreGrid {
        try scores(weights: ScoreWeights(model: model), lists: resolve(tokenizer: tokenizer, vocabSize: model.config.vocabSize))
    }

    static func scores(weights: ScoreWeights, lists: [ResolvedList]) throws -> HeadScoreGrid {
        let config = weights.config
        let usable = lists.filter { !$0.pairs.isEmpty }
        let pairCount = usable.reduce(0) { $0 + $1.pairs.count }
        guard pairCount >= 10 else { throw HeadScoreError.notEnoughTokens(what: "successor pairs", found: pairCount, needed: 10) }
        let ov = OVCircuit(config: config, weights: weights)
        // Effective embeddings and unembeddings of each list's tokens.
        let prepared = usable.map { list -> (list: ResolvedList, index: [Int: Int], input: Tensor, unembed: Tensor) in
            let tokens = list.tokens
            let index = Dictionary(tokens.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
            return (list, index, ov.mlp0(weights.rows(tokens, of: .embedIn)), weights.rows(tokens, of: .embedOut))
        }
        var grid = HeadScoreGrid(layers: config.numLayers, heads: config.numHeads)
        for l in 0..<config.numLayers {
            for h in 0..<config.numHeads {
                var hits = 0
                for item in prepared {
                    let table = BLAS.matmul(ov.apply(layer: l, head: h, to: item.input), .none, item.unembed, .transposed)
                    let n = table.shape[1]
                    for (x, target) in item.list.pairs {
                        guard let row = item.index[x], let column = item.index[target] else { continue }
                        var best = 0
                        for j in 1..<n where table.storage[row * n + j] > table.storage[row * n + best] { best = j }
                        if best == column { hits += 1 }
                    }
                }
                grid[l, h] = Double(hits) / Double(pairCount)
            }
        }
        return grid
    }
}
