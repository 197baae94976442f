/// The S-inhibition flip checks of an IOI head-score run and the resulting S2I classification
/// (`/s2i`, schemas/unit-result.md and schemas/head-scores.md).
///
/// Per-head arrays are row-major `[layers, heads]`; per-flip arrays `[flips, layers, heads]`,
/// index (f·layers + l)·heads + h. Changes are NaN for heads that were not measured.
public struct S2IChecks: Sendable, Equatable {
    /// Clean-run values the changes are relative to.
    public struct Baseline: Sendable, Equatable {
        public var logitDiff: Double
        public var ioAttention: Double
        public var s1Attention: Double
        public var s2Attention: Double

        public init(logitDiff: Double, ioAttention: Double, s1Attention: Double, s2Attention: Double) {
            self.logitDiff = logitDiff
            self.ioAttention = ioAttention
            self.s1Attention = s1Attention
            self.s2Attention = s2Attention
        }
    }

    public var layers: Int
    public var heads: Int
    /// Flip names in storage order, e.g. "token_same_pos_opposite" (`@flips`).
    public var flips: [String]
    /// "circuit" (in-circuit edges into a name mover's query) or "all_heads" (`@candidate_source`).
    public var candidateSource: String
    /// Heads that were measured (`candidates`).
    public var candidates: [Bool]
    /// The name movers whose queries received the patch (`name_movers`).
    public var nameMovers: [Bool]
    /// The S2I classification (`mask`).
    public var s2i: [Bool]
    /// Relative changes (`logit_diff_change`, `io_attention_change`, `s1_attention_change`,
    /// `s2_attention_change`).
    public var logitDiffChange: [Float]
    public var ioAttentionChange: [Float]
    public var s1AttentionChange: [Float]
    public var s2AttentionChange: [Float]
    /// Nil when nothing was measured (`baseline_*`).
    public var baseline: Baseline?

    public init(layers: Int, heads: Int, flips: [String], candidateSource: String, candidates: [Bool],
                nameMovers: [Bool], s2i: [Bool], logitDiffChange: [Float], ioAttentionChange: [Float],
                s1AttentionChange: [Float], s2AttentionChange: [Float], baseline: Baseline?) {
        self.layers = layers
        self.heads = heads
        self.flips = flips
        self.candidateSource = candidateSource
        self.candidates = candidates
        self.nameMovers = nameMovers
        self.s2i = s2i
        self.logitDiffChange = logitDiffChange
        self.ioAttentionChange = ioAttentionChange
        self.s1AttentionChange = s1AttentionChange
        self.s2AttentionChange = s2AttentionChange
        self.baseline = baseline
    }

    /// The per-flip arrays by dataset name.
    var changes: [(name: String, values: [Float])] {
        [(Key.s2iLogitDiffChange, logitDiffChange), (Key.s2iIOAttentionChange, ioAttentionChange),
         (Key.s2iS1AttentionChange, s1AttentionChange), (Key.s2iS2AttentionChange, s2AttentionChange)]
    }

    /// The per-head masks by dataset name.
    var masks: [(name: String, values: [Bool])] {
        [(Key.s2iCandidates, candidates), (Key.s2iNameMovers, nameMovers), (Key.mask, s2i)]
    }

    /// Why the arrays do not fit together, or nil.
    var inconsistency: String? {
        guard layers > 0, heads > 0 else { return "s2i shape [\(layers), \(heads)] is not positive" }
        for (name, values) in masks where values.count != layers * heads {
            return "s2i \(name) has \(values.count) entries for [\(layers), \(heads)]"
        }
        for (name, values) in changes where values.count != flips.count * layers * heads {
            return "s2i \(name) has \(values.count) entries for [\(flips.count), \(layers), \(heads)]"
        }
        if let i = s2i.indices.first(where: { s2i[$0] && !candidates[$0] }) {
            return "s2i head \(i / heads).\(i % heads) is classified S2I but was not a candidate"
        }
        if candidateSource.isEmpty || flips.contains(where: \.isEmpty) { return "s2i candidate source or a flip name is empty" }
        return nil
    }
}
