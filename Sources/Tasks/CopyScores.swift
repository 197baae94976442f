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
                  let ioPosition = example.clean.firstIndex(of: io),
                  let s1 = example.clean.firstIndex(of: s), let s2 = example.clean.lastIndex(of: s), s1 != s2 else {
                throw HeadScoreError.badInput("example \(i) is not an IOI prompt with IO once and S twice")
            }
            sites += [Site(sequence: i, position: ioPosition), Site(sequence: i, position: s1), Site(sequence: i, position: s2)]
        }
        return sites
    }

    /// Copy scores (percent) of every head, or negative copy scores when `negative` is true.
    /// - Throws: `HeadScoreError` for bad sites, or what `residuals` throws.
    public static func scores(
        config: NeoXConfig, weights: NeoXWeights, sequences: [[Int]], sites: [Site],
        negative: Bool = false, topK: Int = 5, residuals: ResidualSource
    ) throws -> HeadScoreGrid {
        let d = config.hiddenSize, vocab = config.vocabSize
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
        let bias = BLAS.matmul(try weights.finalLayerNormBias.reshaped([1, d]), .none, weights.embedOut, .transposed)
        var grid = HeadScoreGrid(layers: config.numLayers, heads: config.numHeads)
        for l in 0..<config.numLayers {
            var scaled = rows
            let gain = weights.layers[l].inputLayerNormWeight.storage
            for r in 0..<sites.count {
                for c in 0..<d { scaled.storage[r * d + c] *= gain[c] }
            }
            for h in 0..<config.numHeads {
                var out = ov.apply(layer: l, head: h, to: scaled)
                let sign: Float = negative ? -1 : 1
                for r in 0..<sites.count {
                    var mean: Float = 0
                    for c in 0..<d { mean += out.storage[r * d + c] }
                    mean /= Float(d)
                    for c in 0..<d {
                        out.storage[r * d + c] = sign * (out.storage[r * d + c] - mean) * weights.finalLayerNormWeight.storage[c]
                    }
                }
                let logits = BLAS.matmul(out, .none, weights.embedOut, .transposed)
                var hits = 0
                for r in 0..<sites.count {
                    let base = r * vocab
                    let target = logits.storage[base + targets[r]] + bias.storage[targets[r]]
                    // Rank of the target; ties go to the lower id, like a stable top-k.
                    var above = 0
                    for v in 0..<vocab {
                        let logit = logits.storage[base + v] + bias.storage[v]
                        if logit > target || (logit == target && v < targets[r]) {
                            above += 1
                            if above >= topK { break }
                        }
                    }
                    if above < topK { hits += 1 }
                }
                grid[l, h] = 100 * Double(hits) / Double(sites.count)
            }
        }
        return grid
    }
}
