import Tensor

/// Induction, duplicate-token and previous-token scores on repeated random token sequences
/// (spec/paper-pipeline.md §5.1; Tigges et al. `utils/component_evaluation.py get_induction_scores`).
///
/// Input: `batch` sequences of `half` random ids, each repeated once (2·half tokens, no BOS). From
/// every layer's attention pattern A[b, h, q, k], each score is the mean over the batch and over
/// every entry of one diagonal: q − k = half − 1 (induction: the token after the earlier copy of the
/// current token), q − k = half (duplicate token), q − k = 1 (previous token). Like the authors'
/// code, the diagonal's mean includes all its entries (for induction also the first, q = half − 1,
/// k = 0, which is not an induction target), so a perfect induction head scores half/(half+1).
public enum RepeatedTokenScores {
    /// Attention patterns of one unpadded sequence: `[layer][head]` → [P, P], query-major.
    public typealias PatternSource = ([Int]) throws -> [[Tensor]]

    public struct Scores: Sendable, Equatable {
        public var induction: HeadScoreGrid
        public var duplicateToken: HeadScoreGrid
        public var previousToken: HeadScoreGrid
    }

    /// The paper's input, seeded: ids uniform in `tokenRange` ([100, 20000) in the paper), each
    /// sequence `half` ids then the same ids again.
    public static func sequences(seed: UInt64, batch: Int = 2, half: Int = 100, tokenRange: Range<Int> = 100..<20_000) -> [[Int]] {
        var random = SeededRandom(seed: seed)
        return (0..<batch).map { _ in
            let first = (0..<half).map { _ in random.nextInt(in: tokenRange) }
            return first + first
        }
    }

    /// Scores every head from the attention patterns of `sequences` (each of even length 2·half).
    /// - Throws: `HeadScoreError` for malformed sequences or patterns, or what `patterns` throws.
    public static func scores(layers: Int, heads: Int, sequences: [[Int]], patterns: PatternSource) throws -> Scores {
        guard let length = sequences.first?.count, length >= 4, length % 2 == 0,
              sequences.allSatisfy({ $0.count == length }) else {
            throw HeadScoreError.badInput("repeated-token sequences must share one even length ≥ 4")
        }
        let half = length / 2
        var induction = HeadScoreGrid(layers: layers, heads: heads)
        var duplicate = HeadScoreGrid(layers: layers, heads: heads)
        var previous = HeadScoreGrid(layers: layers, heads: heads)
        for sequence in sequences {
            let grid = try patterns(sequence)
            guard grid.count == layers, grid.allSatisfy({ $0.count == heads }) else {
                throw HeadScoreError.badInput("pattern source returned \(grid.count) layers, expected \(layers) × \(heads) heads")
            }
            for l in 0..<layers {
                for h in 0..<heads {
                    let pattern = grid[l][h]
                    guard pattern.shape == [length, length] else {
                        throw HeadScoreError.badInput("pattern of head \(l).\(h) has shape \(pattern.shape), expected [\(length), \(length)]")
                    }
                    induction[l, h] += diagonalMean(pattern, offset: half - 1) / Double(sequences.count)
                    duplicate[l, h] += diagonalMean(pattern, offset: half) / Double(sequences.count)
                    previous[l, h] += diagonalMean(pattern, offset: 1) / Double(sequences.count)
                }
            }
        }
        return Scores(induction: induction, duplicateToken: duplicate, previousToken: previous)
    }

    /// Mean of A[q, q − offset] over q = offset..<P (`torch.diagonal(offset=-offset).mean()`).
    static func diagonalMean(_ pattern: Tensor, offset: Int) -> Double {
        let n = pattern.shape[0]
        guard offset < n else { return 0 }
        var sum = 0.0
        for q in offset..<n { sum += Double(pattern.storage[q * n + q - offset]) }
        return sum / Double(n - offset)
    }
}
