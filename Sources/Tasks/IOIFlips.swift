import Circuits

/// The flipped IOI datasets of the S-inhibition checks (spec/paper-pipeline.md §5.5; the code's
/// `S2I_token_pos`, Wang et al.'s `gen_flipped_prompts`). Each flip rewrites the three name
/// slots of a clean prompt — IO (the indirect object in the first clause), S1 (the subject in the
/// first clause) and S2 (the subject's second mention) — and keeps everything else:
///
/// | flip | ABB (IO first) | BAB (S first) | IO slot | S1 slot | S2 slot |
/// |---|---|---|---|---|---|
/// | token-same/pos-opposite | ABB→BAB | BAB→ABB | S | IO | S |
/// | token-diff/pos-same | ABB→XYY | BAB→YXY | X | Y | Y |
/// | token-opposite/pos-same | ABB→BAA | BAB→ABA | S | IO | IO |
/// | token-diff/pos-opposite | ABB→XYX | BAB→XYY | X | Y | X |
/// | token-opposite/pos-opposite | ABB→ABA | BAB→BAA | IO | S | IO |
///
/// X and Y are two other names (neither IO nor S, X ≠ Y), drawn per prompt.
public enum IOIFlip: String, Sendable, CaseIterable, Codable {
    case tokenSamePosOpposite = "token_same_pos_opposite"
    case tokenDiffPosSame = "token_diff_pos_same"
    case tokenOppositePosSame = "token_opposite_pos_same"
    case tokenDiffPosOpposite = "token_diff_pos_opposite"
    case tokenOppositePosOpposite = "token_opposite_pos_opposite"

    /// The code's flip string (`gen_flipped_prompts`).
    public var pattern: String {
        switch self {
        case .tokenSamePosOpposite: "ABB->BAB, BAB->ABB"
        case .tokenDiffPosSame: "ABB->XYY, BAB->YXY"
        case .tokenOppositePosSame: "ABB->BAA, BAB->ABA"
        case .tokenDiffPosOpposite: "ABB->XYX, BAB->XYY"
        case .tokenOppositePosOpposite: "ABB->ABA, BAB->BAA"
        }
    }

    /// The names written into the (IO, S1, S2) slots, given the prompt's IO and S and the two
    /// other names X and Y.
    func slots(io: Int, s: Int, x: Int, y: Int) -> (io: Int, s1: Int, s2: Int) {
        switch self {
        case .tokenSamePosOpposite: (s, io, s)
        case .tokenDiffPosSame: (x, y, y)
        case .tokenOppositePosSame: (s, io, io)
        case .tokenDiffPosOpposite: (x, y, x)
        case .tokenOppositePosOpposite: (io, s, io)
        }
    }
}

/// The positions of an IOI prompt the S-inhibition checks read.
public struct IOIPositions: Sendable, Equatable {
    /// First occurrence of the IO token.
    public var io: Int
    /// First and last occurrence of the S token.
    public var s1: Int
    public var s2: Int
    /// The last position (the metric position, just before the answer).
    public var end: Int

    public init(io: Int, s1: Int, s2: Int, end: Int) {
        self.io = io
        self.s1 = s1
        self.s2 = s2
        self.end = end
    }

    /// The positions in `tokens` of `io` (once) and `s` (twice), the convention of the copy score.
    /// Nil when IO does not occur or S does not occur at two distinct positions.
    public init?(tokens: [Int], io: Int, s: Int) {
        guard let ioPosition = tokens.firstIndex(of: io), let s1 = tokens.firstIndex(of: s),
              let s2 = tokens.lastIndex(of: s), s1 != s2 else { return nil }
        self.init(io: ioPosition, s1: s1, s2: s2, end: tokens.count - 1)
    }
}

extension IOIFlip {
    /// The flipped dataset of `examples`: `clean` and the answers are kept, `corrupted` is the
    /// flipped prompt (same length, only the three name slots differ), so the path patcher reads
    /// senders from the flipped run.
    ///
    /// Deterministic: X and Y are drawn per example, in example order, from `names` without IO and
    /// S by `SeededRandom(seed)`; the draws do not depend on the flip, so the two token-diff flips
    /// use the same X and Y for one prompt.
    /// - Parameter names: the name pool's token ids (`TaskGenerator.ioiNameIDs()`), at least 4.
    /// - Throws: `HeadScoreError.badInput` when a prompt does not hold IO exactly once and S exactly
    ///   twice before its last position, or the pool has fewer than 4 distinct names.
    public func flipped(_ examples: [TaskExample], names: [Int], seed: UInt64) throws -> [TaskExample] {
        let pool = Array(Set(names)).sorted()
        guard pool.count >= 4 else {
            throw HeadScoreError.badInput("the \(rawValue) flip needs at least 4 single-token names, got \(pool.count)")
        }
        let positions = try Self.positions(examples)
        var random = SeededRandom(seed: seed)
        return zip(examples, positions).map { example, at in
            let io = example.correct[0], s = example.incorrect[0]
            let others = pool.filter { $0 != io && $0 != s }
            let x = random.element(of: others)
            var y = random.element(of: others)
            while y == x { y = random.element(of: others) }
            let names = slots(io: io, s: s, x: x, y: y)
            var tokens = example.clean
            tokens[at.io] = names.io
            tokens[at.s1] = names.s1
            tokens[at.s2] = names.s2
            return TaskExample(clean: example.clean, corrupted: tokens, correct: example.correct, incorrect: example.incorrect)
        }
    }

    /// The IO, S1, S2 and END positions of every clean prompt, checked as `flipped` needs them.
    /// - Throws: `HeadScoreError.badInput` naming the first prompt that is not an IOI prompt.
    public static func positions(_ examples: [TaskExample]) throws -> [IOIPositions] {
        try examples.enumerated().map { i, example in
            guard let io = example.correct.first, let s = example.incorrect.first, io != s,
                  let at = IOIPositions(tokens: example.clean, io: io, s: s),
                  example.clean.filter({ $0 == io }).count == 1, example.clean.filter({ $0 == s }).count == 2,
                  at.s2 < at.end, at.io < at.end else {
                throw HeadScoreError.badInput("IOI example \(i) must hold its IO name once and its S name twice before the last position")
            }
            return at
        }
    }
}
