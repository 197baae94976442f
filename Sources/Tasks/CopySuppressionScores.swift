import Foundation
import NeoX
import Tensor

/// The copy-suppression-preserving ablation score, CSPA (McDougall et al. 2023), as the authors run
/// it (spec/paper-pipeline.md §5.4; `utils/cspa_functions.py get_cspa_results` with
/// `interventions=["ov","qk"]`, `K_unembeddings=0.05`, `K_semantic=1`,
/// `only_keep_negative_components=True`, loaded with `fold_ln`, centring and `use_attn_result`).
///
/// For head (l, h), destination q and source k ≤ q of one sequence, with A the head's attention,
/// o_k = centre(v_k·W_O,h) the head's output vector from k and m_q the mean of the head's centred
/// output at position q over the reference sequences:
/// - the head's result is r_q = Σ_k A_qk·o_k; mean ablation replaces it with m_q;
/// - QK filter: the logit lens at q is ℓ_qk = ((x^l_q − mean)/σ_q ⊙ g_final)·W_U[tok_k] (x^l the
///   residual entering layer l, σ_q the final LayerNorm's scale at q). Sources whose token is a
///   function token get −1e9; among first occurrences the K_q = ⌈0.05·(q+1)⌉-th largest value is
///   the threshold, and every source with ℓ_qk + 1e-6 ≥ threshold is kept (repeats included);
/// - OV filter: a kept source contributes only the negative part of its projection onto
///   ŵ_k = unit(g_final ⊙ (W_U[tok_k] − mean_t W_U[t])) (TransformerLens' folded, centred unembedding):
///   c_qk = min(0, A_qk·(o_k − m_q)·ŵ_k); the CSPA result is m_q + Σ_kept c_qk·ŵ_k;
/// - each replacement changes only the direct path to the logits, with the final LayerNorm's scale
///   frozen: logits' = logits + ((Δ_q/σ_q) ⊙ g_final)·W_Uᵀ (a per-position constant dropped);
/// - CSPA = 1 − Σ KL(p ‖ p_CSPA) / Σ KL(p ‖ p_mean) over every position of every evaluated
///   sequence (`get_performance_recovered`); 0 when mean ablation changes nothing (KL sum 0).
///
/// Value biases cancel in o_k − m_q and in every Δ, so HF activations are used as they are.
public enum CopySuppressionScores {
    /// ⌈fraction·(q+1)⌉ sources are kept per destination (the code's `K_unembeddings = 0.05`).
    public static let defaultKeptFraction = 0.05

    /// The source tokens never kept (the code's `FUNCTION_STR_TOKS`): control characters and common
    /// English function words and punctuation, each resolved to a token id when it is one token.
    public static let functionWords: [String] = (0..<32).map { String(UnicodeScalar(UInt8($0))) } + ["\u{7f}"] + [
        " a", " the", " an", " to", " of", " in", " that", " for", " it", " with", " as", " was", " The", " are", " by",
        " have", " this", "The", " will", " they", " their", " which", " about", " In", " like", " them", " some",
        " when", " It", " what", " its", " only", " how", " most", " This", " these", " very", " much", " those",
        " such", " But", " You", " If", " take", "It", " As", " For", " They", "the", " That", "But", " When", " To",
        "As", " almost", " With", " However", "When", " These", "That", "To", " By", " takes", " While", " whose",
        "With", " Of", " THE", " From", " aren", "While", " perhaps", "By", " whatever", "with", " Like", "However",
        "Of", " Their", " Those", " Its", " Thus", " Such", "Those", " Much", " Between", "Their", " meanwhile",
        " nevertheless", "Its", " at", "to", " now", "'s", ".", ",", "?", "!", " '", "'", " \"", "\"", "you", "your",
        " you", " your", " once", " and", " all", "Now", " He", " her", " my", "<|endoftext|>",
    ]

    /// CSPA of every head.
    /// - Parameters:
    ///   - sequences: the evaluated sequences (paper: 17 OpenWebText documents × 61 tokens, BOS first).
    ///   - reference: the mean-ablation sequences (paper: the first 100 documents); position q's mean
    ///     is over the reference sequences that reach q.
    ///   - functionTokens: ids never kept as sources.
    /// - Throws: `HeadScoreError.badInput` for empty input, a sequence longer than the model's
    ///   context or than every reference sequence; `forwardFailed` for bad token ids.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func scores(
        model: NeoXModel, sequences: [[Int]], reference: [[Int]], functionTokens: Set<Int>,
        keptFraction: Double = defaultKeptFraction
    ) throws -> HeadScoreGrid {
        let L = model.layerCount, H = model.heads, d = model.d, dh = model.headDim, V = model.vocabSize
        guard !sequences.isEmpty, !reference.isEmpty else {
            throw HeadScoreError.badInput("CSPA needs evaluation and mean-ablation sequences (got \(sequences.count) and \(reference.count))")
        }
        let context = model.config.maxPositionEmbeddings
        for (i, s) in (sequences + reference).enumerated() where s.isEmpty || s.count > context {
            throw HeadScoreError.badInput("CSPA sequence \(i) has \(s.count) tokens; the model takes 1...\(context)")
        }
        let longestReference = reference.map(\.count).max() ?? 0
        if let long = sequences.firstIndex(where: { $0.count > longestReference }) {
            throw HeadScoreError.badInput("CSPA sequence \(long) has \(sequences[long].count) tokens but the longest mean-ablation sequence only \(longestReference)")
        }
        // Per-position means of every head's centred output over the reference.
        var sums = [Double](repeating: 0, count: L * H * longestReference * d)
        var counts = [Int](repeating: 0, count: longestReference)
        var output = [Float](repeating: 0, count: longestReference * d)
        for tokens in reference {
            let trace = try run(model, tokens)
            let n = tokens.count
            for p in 0..<n { counts[p] += 1 }
            for l in 0..<L {
                for h in 0..<H {
                    output.withUnsafeMutableBufferPointer { o in
                        model.headResult(z: trace.z(l), zStride: d, rows: n, layer: l, head: h, output: o.baseAddress!)
                    }
                    let base = (l * H + h) * longestReference * d
                    for p in 0..<n {
                        let row = centred(output, row: p, width: d)
                        for c in 0..<d { sums[base + p * d + c] += Double(row[c]) }
                    }
                }
            }
        }
        let means = (0..<sums.count).map { i in Float(sums[i] / Double(max(1, counts[(i / d) % longestReference]))) }

        // ŵ_t for every token: unit(g ⊙ (W_U[t] − mean_t W_U)).
        let gain = Array(UnsafeBufferPointer(start: model.finalNormWeight.pointer, count: d))
        let unembedding = model.embedOut
        var meanRow = [Double](repeating: 0, count: d)
        var unembeddingRow = [Float](repeating: 0, count: d)
        for t in 0..<V {
            unembeddingRow.withUnsafeMutableBufferPointer { unembedding.copyRow(t, into: $0.baseAddress!) }
            for c in 0..<d { meanRow[c] += Double(unembeddingRow[c]) }
        }
        func direction(_ t: Int) -> [Float] {
            let row = unembedding.row(t)
            var w = (0..<d).map { c in gain[c] * (row[c] - Float(meanRow[c] / Double(V))) }
            let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for c in 0..<d { w[c] = norm > 1e-6 ? w[c] / norm : 0 }
            return w
        }

        var klCSPA = [Double](repeating: 0, count: L * H), klMean = klCSPA
        for tokens in sequences {
            let trace = try run(model, tokens)
            let n = tokens.count
            let directions = tokens.map(direction)
            let sigma = finalScales(model: model, trace: trace, rows: n)
            var logits = [Float](repeating: 0, count: n * V)
            logits.withUnsafeMutableBufferPointer { model.logits(trace: trace, rows: Array(0..<n), into: $0.baseAddress!) }
            let original = logSoftmax(logits, rows: n, width: V)
            var firstOccurrence = [Bool](repeating: false, count: n)
            var seen = Set<Int>()
            for (k, t) in tokens.enumerated() { firstOccurrence[k] = seen.insert(t).inserted }
            for l in 0..<L {
                let kept = keptSources(model: model, trace: trace, layer: l, tokens: tokens, sigma: sigma,
                                       firstOccurrence: firstOccurrence, functionTokens: functionTokens, fraction: keptFraction)
                for h in 0..<H {
                    // o_k, centred.
                    var values = [Float](repeating: 0, count: n * d)
                    values.withUnsafeMutableBufferPointer { o in
                        // v_k (columns h·3dh + 2dh of the fused q/k/v) · W_O,h.
                        model.layers[l].denseWeight.multiply(trace.qkv(l) + h * 3 * dh + 2 * dh, rows: n, inputStride: 3 * d,
                                                             into: o.baseAddress!, outputStride: d, columnRange: h * dh..<(h + 1) * dh)
                    }
                    let o = (0..<n).map { centred(values, row: $0, width: d) }
                    let base = (l * H + h) * longestReference * d
                    let pattern = trace.attentionProbabilities(layer: l, sequence: 0, head: h)
                    // Rows 0..<n: Δ of CSPA; rows n..<2n: Δ of mean ablation; each ⊙ g / σ.
                    var deltas = [Float](repeating: 0, count: 2 * n * d)
                    for q in 0..<n {
                        let m = Array(means[(base + q * d)..<(base + (q + 1) * d)])
                        var result = [Float](repeating: 0, count: d), cspa = m
                        for k in 0...q {
                            let a = pattern[q * n + k]
                            for c in 0..<d { result[c] += a * o[k][c] }
                            guard kept[q * n + k] else { continue }
                            var coefficient: Float = 0
                            for c in 0..<d { coefficient += a * (o[k][c] - m[c]) * directions[k][c] }
                            if coefficient < 0 { for c in 0..<d { cspa[c] += coefficient * directions[k][c] } }
                        }
                        for c in 0..<d {
                            deltas[q * d + c] = (cspa[c] - result[c]) * gain[c] / sigma[q]
                            deltas[(n + q) * d + c] = (m[c] - result[c]) * gain[c] / sigma[q]
                        }
                    }
                    var shifted = [Float](repeating: 0, count: 2 * n * V)
                    shifted.withUnsafeMutableBufferPointer { s in
                        deltas.withUnsafeBufferPointer { x in
                            unembedding.multiply(x.baseAddress!, rows: 2 * n, into: s.baseAddress!, outputStride: V)
                        }
                    }
                    let ablated = logSoftmax(logits, shiftedBy: shifted, rows: 2 * n, width: V)
                    for q in 0..<n {
                        klCSPA[l * H + h] += kl(original, row: q, ablated, row: q, width: V)
                        klMean[l * H + h] += kl(original, row: q, ablated, row: n + q, width: V)
                    }
                }
            }
        }
        return HeadScoreGrid(layers: L, heads: H, values: zip(klCSPA, klMean).map { $1 > 0 ? 1 - $0 / $1 : 0 })
    }

    /// Token ids of `functionWords` that are single tokens for `tokenizer`-style lookups.
    public static func functionTokens(singleTokenID: (String) -> Int?) -> Set<Int> {
        Set(functionWords.compactMap(singleTokenID))
    }

    /// The paper's corpus from documents (in the order given; the authors shuffle OpenWebText-10k
    /// with seed 6 first): BOS + the tokens of each document, keeping the first `count` documents
    /// with more than `minimumTokens` tokens (paper: 500 documents over 1000 tokens).
    /// - Throws: `HeadScoreError.badInput` when fewer documents qualify.
    public static func corpus(
        documents: [String], encode: (String) -> [Int], bos: Int, minimumTokens: Int = 1000, count: Int = 100
    ) throws -> [[Int]] {
        var kept: [[Int]] = []
        for document in documents where kept.count < count {
            let tokens = [bos] + encode(document)
            if tokens.count > minimumTokens { kept.append(tokens) }
        }
        guard kept.count == count else {
            throw HeadScoreError.badInput("only \(kept.count) of \(documents.count) documents have more than \(minimumTokens) tokens; CSPA needs \(count)")
        }
        return kept
    }

    /// kept[q·n + k]: whether source k survives the QK filter at destination q (k ≤ q).
    static func keptSources(
        model: NeoXModel, trace: ForwardTrace, layer l: Int, tokens: [Int], sigma: [Float],
        firstOccurrence: [Bool], functionTokens: Set<Int>, fraction: Double
    ) -> [Bool] {
        let n = tokens.count, d = model.d
        let gain = model.finalNormWeight.pointer
        let blocked: Float = -1e9
        let unembedding = tokens.map { model.embedOut.row($0) }
        var kept = [Bool](repeating: false, count: n * n)
        for q in 0..<n {
            let x = trace.residual(l) + q * d
            var mean: Float = 0
            for c in 0..<d { mean += x[c] }
            mean /= Float(d)
            var lens = [Float](repeating: blocked, count: n)
            for k in 0...q where !functionTokens.contains(tokens[k]) {
                var dot: Float = 0
                for c in 0..<d { dot += (x[c] - mean) / sigma[q] * gain[c] * unembedding[k][c] }
                lens[k] = dot
            }
            let ranked = (0..<n).map { firstOccurrence[$0] ? lens[$0] : blocked }.sorted(by: >)
            let count = Int((fraction * Double(q + 1)).rounded(.up))
            let threshold = ranked[min(max(count, 1), n) - 1]
            for k in 0...q where lens[k] + 1e-6 >= threshold { kept[q * n + k] = true }
        }
        return kept
    }

    /// The final LayerNorm's scale √(var + ε) at each row of the last pass.
    static func finalScales(model: NeoXModel, trace: ForwardTrace, rows: Int) -> [Float] {
        let d = model.d, x = trace.residual(model.layerCount)
        return (0..<rows).map { r in
            var mean: Double = 0, square: Double = 0
            for c in 0..<d { mean += Double(x[r * d + c]) }
            mean /= Double(d)
            for c in 0..<d { square += (Double(x[r * d + c]) - mean) * (Double(x[r * d + c]) - mean) }
            return Float((square / Double(d) + Double(model.config.layerNormEps)).squareRoot())
        }
    }

    static func centred(_ values: [Float], row: Int, width: Int) -> [Float] {
        let slice = values[(row * width)..<((row + 1) * width)]
        let mean = slice.reduce(0, +) / Float(width)
        return slice.map { $0 - mean }
    }

    /// Log-softmax of each row of `logits` (+ row r of `shift`, whose rows wrap around `logits`'
    /// rows), in float64 so that small shifts keep their precision.
    static func logSoftmax(_ logits: [Float], shiftedBy shift: [Float]? = nil, rows: Int, width: Int) -> [Double] {
        let base = logits.count / width
        var out = [Double](repeating: 0, count: rows * width)
        for r in 0..<rows {
            for t in 0..<width { out[r * width + t] = Double(logits[(r % base) * width + t]) }
            if let shift { for t in 0..<width { out[r * width + t] += Double(shift[r * width + t]) } }
            var top = -Double.infinity
            for t in 0..<width { top = max(top, out[r * width + t]) }
            var sum: Double = 0
            for t in 0..<width { sum += Foundation.exp(out[r * width + t] - top) }
            let log = top + Foundation.log(sum)
            for t in 0..<width { out[r * width + t] -= log }
        }
        return out
    }

    /// KL(p ‖ p') between two log-probability rows.
    static func kl(_ p: [Double], row a: Int, _ q: [Double], row b: Int, width: Int) -> Double {
        var sum: Double = 0
        for t in 0..<width { sum += Foundation.exp(p[a * width + t]) * (p[a * width + t] - q[b * width + t]) }
        return sum
    }

    private static func run(_ model: NeoXModel, _ tokens: [Int]) throws -> ForwardTrace {
        do { return try model.run(inputIds: [tokens]) } catch { throw HeadScoreError.forwardFailed("\(error)") }
    }
}
