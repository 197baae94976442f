import NeoX
import Tensor

/// Copy scores of name-mover heads (Wang et al. 2023), as the authors compute them
/// (spec/paper-pipeline.md §5.3; `utils/component_evaluation.py compute_copy_score`).
///
/// Input: the IOI prompts; at the IO, S1 and S2 positions take the residual stream after block 0
/// (embedding + layer-0 attention and MLP). Apply head h's OV map and unembed; a hit is when the
/// name at that position is among the top 5 tokens (ties broken towards the lower id). Copy score = 100 · hits / (3N), a percentage.
/// The negative copy score negates the head's output first (a suppressing head scores high).
///
/// The authors load the model with `fold_ln=True`, `center_writing_weights=True`,
/// `center_unembed=True` and `fold_value_biases=True` and apply `OV` and `unembed` without any
/// normalisation. On HF weights that is: v = ((x ⊙ g_ln1)·W_Vᵀ)·W_Oᵀ (value biases are folded
/// away into b_O, which OV does not use), v centred over d_model, logits = (±v ⊙ g_final)·W_Uᵀ +
/// b_final·W_Uᵀ (`unembed` adds the folded b_U; centring W_U shifts a row by a constant and does not
/// change the top 5).
public enum CopyScores {
    /// The residual after block 0 for one unpadded sequence: [P, d].
    public typealias ResidualSource = ([Int]) throws -> Tensor

    /// A token position whose own token the head should copy.
    public struct Site: Sendable, Equatable {
        public var sequence: Int
        public var position: Int
        public init(sequence: Int, position: Int) {
            self.sequence = sequence
            self.position = position
        }
    }

    /// The IO, S1 and S2 positions of IOI examples: IO = the first occurrence of the correct
    /// answer id, S1/S2 the first and last occurrences of the incorrect one.
    /// - Throws: `HeadScoreError.badInput` if an example does not contain its names that way.
    public static func ioiSites(_ examples: [TaskDataset.Example]) throws -> [Site] {
        var sites: [Site] = []
        for (i, example) in examples.enumerated() {
            guard let io = example.correct.first, let s = example.incorrect.first,
                  let at = IOIPositions(tokens: example.clean, io: io, s: s) else {
                throw HeadScoreError.badInput("example \(i) is not an IOI prompt with IO once and S twice")
            }
            sites += [Site(sequence: i, position: at.io), Site(sequence: i, position: at.s1), Site(sequence: i, position: at.s2)]
        }
        return sites
    }

    /// Copy scores (percent) of every head, or negative copy scores when `negative` is true.
    /// - Throws: `HeadScoreError` for bad sites, or what `residuals` throws.
    public static func scores(
        config: NeoXConfig, weights: NeoXWeights, sequences: [[Int]], sites: [Site],
        negative: Bool = false, topK: Int = 5, residuals: ResidualSource
    ) throws -> HeadScoreGrid {
        let both = try bothSigns(config: config, weights: weights, sequences: sequences, sites: sites, topK: topK, residuals: residuals)
        return negative ? both.negative : both.copy
    }

    /// Copy and negative copy scores together; they share every head's logits.
    ///
    /// Per head the logits are computed through the head's low-rank factorisation:
    /// (x ⊙ g_ln1)·W_Vᵀ ([N, dh]) times M_h = (W̄_O ⊙ g_final)ᵀ·W_Uᵀ ([dh, V]), where W̄_O is W_O
    /// centred over d_model — the same numbers as centring each output row, in fewer operations.
    /// - Throws: `HeadScoreError` for bad sites, or what `residuals` throws.
    public static func bothSigns(
        config: NeoXConfig, weights: NeoXWeights, sequences: [[Int]], sites: [Site],
        topK: Int = 5, residuals: ResidualSource
    ) throws -> (copy: HeadScoreGrid, negative: HeadScoreGrid) {
        try bothSigns(weights: ScoreWeights(config: config, weights: weights), sequences: sequences, sites: sites,
                      topK: topK, residuals: residuals)
    }

    /// `bothSigns` reading the weights through `weights` (HF weights or a prepared model).
    static func bothSigns(
        weights: ScoreWeights, sequences: [[Int]], sites: [Site],
        topK: Int = 5, residuals: ResidualSource
    ) throws -> (copy: HeadScoreGrid, negative: HeadScoreGrid) {
        let config = weights.config
        let d = config.hiddenSize, dh = config.headDim, vocab = config.vocabSize
        guard !sites.isEmpty else { throw HeadScoreError.badInput("no copy-score sites") }
        // Residual rows at the sites, and the token each should copy.
        var rows = Tensor(zeros: [sites.count, d])
        var targets: [Int] = []
        var cache: [Int: Tensor] = [:]
        for (r, site) in sites.enumerated() {
            guard site.sequence >= 0 && site.sequence < sequences.count,
                  site.position >= 0 && site.position < sequences[site.sequence].count else {
                throw HeadScoreError.badInput("site \(site) is outside the sequences")
            }
            let residual: Tensor
            if let cached = cache[site.sequence] { residual = cached } else {
                residual = try residuals(sequences[site.sequence])
                cache[site.sequence] = residual
            }
            guard residual.shape == [sequences[site.sequence].count, d] else {
                throw HeadScoreError.badInput("residual of sequence \(site.sequence) has shape \(residual.shape)")
            }
            for c in 0..<d { rows.storage[r * d + c] = residual.storage[site.position * d + c] }
            targets.append(sequences[site.sequence][site.position])
        }
        let ov = OVCircuit(config: config, weights: weights)
        // b_final·W_Uᵀ: the folded unembedding bias, one value per token.
        // The one whole-tensor read (a transient copy when reading from a model).
        let unembedding = weights.tensor(.embedOut)
        let bias = BLAS.matmul(try weights.tensor(.finalNormBias).reshaped([1, d]), .none, unembedding, .transposed)
        let finalGain = weights.tensor(.finalNormWeight).storage
        var copy = HeadScoreGrid(layers: config.numLayers, heads: config.numHeads)
        var negative = copy
        for l in 0..<config.numLayers {
            var scaled = rows
            let gain = weights.tensor(.inputNormWeight(l)).storage
            for r in 0..<sites.count {
                for c in 0..<d { scaled.storage[r * d + c] *= gain[c] }
            }
            for h in 0..<config.numHeads {
                let values = BLAS.matmul(scaled, .none, ov.valueWeight(layer: l, head: h), .transposed)   // [N, dh]
                // W̄_O ⊙ g_final, transposed to [dh, d].
                let output = ov.outputWeight(layer: l, head: h)   // [d, dh]
                var projected = Tensor(zeros: [dh, d])
                for c in 0..<dh {
                    var mean: Float = 0
                    for o in 0..<d { mean += output.storage[o * dh + c] }
                    mean /= Float(d)
                    for o in 0..<d { projected.storage[c * d + o] = (output.storage[o * dh + c] - mean) * finalGain[o] }
                }
                let unembed = BLAS.matmul(projected, .none, unembedding, .transposed)   // [dh, V]
                let logits = BLAS.matmul(values, .none, unembed, .none)                      // [N, V]
                var hits = 0, negativeHits = 0
                for r in 0..<sites.count {
                    let base = r * vocab
                    if rank(of: targets[r], logits: logits.storage, base: base, vocab: vocab, sign: 1, bias: bias.storage, limit: topK) < topK { hits += 1 }
                    if rank(of: targets[r], logits: logits.storage, base: base, vocab: vocab, sign: -1, bias: bias.storage, limit: topK) < topK { negativeHits += 1 }
                }
                copy[l, h] = 100 * Double(hits) / Double(sites.count)
                negative[l, h] = 100 * Double(negativeHits) / Double(sites.count)
            }
        }
        return (copy, negative)
    }

    /// Rank of `target` among sign·logits + bias, counting up to `limit`; ties go to the lower
    /// id, like a stable top-k.
    private static func rank(
        of target: Int, logits: ContiguousArray<Float>, base: Int, vocab: Int, sign: Float,
        bias: ContiguousArray<Float>, limit: Int
    ) -> Int {
        let value = sign * logits[base + target] + bias[target]
        var above = 0
        for v in 0..<vocab {
            let logit = sign * logits[base + v] + bias[v]
            if logit > value || (logit == value && v < target) {
                above += 1
                if above >= limit { break }
            }
        }
        return above
    }
}
