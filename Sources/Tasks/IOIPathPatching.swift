import Circuits
import NeoX
import Tensor

/// The IOI path-patching effects of the paper's algorithm analysis (spec/paper-pipeline.md §5.5,
/// §6 steps B–C; `get_ioi_consistency.py` with `path_patching_cm`) and the S-inhibition score.
///
/// On IOI prompts (clean) and their "ABB->ABA, BAB->BAA" flips (corrupted), LD = mean over prompts
/// of logit[IO] − logit[S] at the last position. For every sender head, its output is path-patched
/// from the corrupted run (`PathPatcher`) and the effect is the code's noising metric
/// e = (LD_patched − LD_clean) / (LD_clean − LD_corrupted): 0 for no effect, −1 when the answer
/// falls to the corrupted level.
/// - direct effect (step B): receiver = the final residual stream;
/// - name movers: copy score > 10 and direct effect < 0;
/// - S-inhibition (step C): receiver = the queries of the name movers at every position;
///   `s_inhibition` = −e′, so a head whose path into the name movers' queries carries the whole
///   clean–corrupted difference scores 1. The code calls a head S2I when e′ < −0.001
///   (i.e. s_inhibition > 0.001) and it also passes its circuit and flip checks (`flipChecks`,
///   `S2IFlipChecks`).
public enum IOIPathPatching {
    /// The code's copy-score threshold for name movers (percent).
    public static let nameMoverCopyThreshold = 10.0

    /// Per-sender effects and the two baselines.
    public struct Effects: Sendable, Equatable {
        /// e[l, h] (the code's sign: negative = the path carries the behaviour).
        public var effects: HeadScoreGrid
        public var cleanLogitDiff: Double
        public var corruptedLogitDiff: Double
    }

    /// Path-patching effect of every head on `receiver`.
    /// - Parameters:
    ///   - examples: IOI examples; `correct[0]` is IO and `incorrect[0]` is S, read after the last
    ///     prompt token.
    ///   - chunkSize: prompts per batch (memory only; the result does not depend on it).
    /// - Throws: `HeadScoreError.badInput` for empty or mismatched prompts, missing answers, prompts
    ///   longer than the model's context, or a model whose clean and corrupted LD are equal.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func effects(
        model: NeoXModel, examples: [TaskExample], receiver: PathPatcher.Receiver, chunkSize: Int = 16
    ) throws -> Effects {
        try validate(examples, model: model)
        let L = model.layerCount, H = model.heads, d = model.d
        var patchedSums = [Double](repeating: 0, count: L * H)
        var cleanSum = 0.0, corruptedSum = 0.0
        for start in stride(from: 0, to: examples.count, by: max(1, chunkSize)) {
            let chunk = Array(examples[start..<min(examples.count, start + max(1, chunkSize))])
            let patcher: PathPatcher
            do {
                patcher = try PathPatcher(model: model, clean: chunk.map(\.clean), corrupted: chunk.map(\.corrupted))
            } catch { throw HeadScoreError.forwardFailed("\(error)") }
            let rows = zip(patcher.layout.offsets, patcher.layout.lengths).map { $0 + $1 - 1 }
            func logitDiffSum(_ finalNorm: UnsafePointer<Float>) -> Double {
                zip(rows, chunk).reduce(0) { $0 + logitDiff(finalNorm + $1.0 * d, $1.1, model: model) }
            }
            cleanSum += logitDiffSum(patcher.clean.finalNorm)
            corruptedSum += logitDiffSum(patcher.corrupted.finalNorm)
            for l in 0..<L {
                for h in 0..<H {
                    patchedSums[l * H + h] += logitDiffSum(patcher.patched(sender: .init(layer: l, head: h), into: receiver))
                }
            }
        }
        let n = Double(examples.count)
        let clean = cleanSum / n, corrupted = corruptedSum / n
        guard clean != corrupted else {
            throw HeadScoreError.badInput("clean and corrupted IOI logit differences are both \(clean); path-patching effects are undefined for this model")
        }
        let effects = patchedSums.map { ($0 / n - clean) / (clean - corrupted) }
        return Effects(effects: HeadScoreGrid(layers: L, heads: H, values: effects), cleanLogitDiff: clean, corruptedLogitDiff: corrupted)
    }

    /// Name movers as the code finds them: copy score > 10 (percent) and direct effect < 0.
    public static func nameMovers(copy: HeadScoreGrid, directEffect: HeadScoreGrid) -> [PathPatcher.HeadIndex] {
        precondition(copy.layers == directEffect.layers && copy.heads == directEffect.heads, "grids of one model")
        return (0..<copy.layers).flatMap { l in
            (0..<copy.heads).compactMap { h in
                copy[l, h] > nameMoverCopyThreshold && directEffect[l, h] < 0 ? PathPatcher.HeadIndex(layer: l, head: h) : nil
            }
        }
    }

    /// `s_inhibition` = −e′ with the queries of `nameMovers` as receivers; all zero when there are no
    /// name movers (nothing to inhibit).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func sInhibition(
        model: NeoXModel, examples: [TaskExample], nameMovers: [PathPatcher.HeadIndex], chunkSize: Int = 16
    ) throws -> HeadScoreGrid {
        try validate(examples, model: model)
        guard !nameMovers.isEmpty else { return HeadScoreGrid(layers: model.layerCount, heads: model.heads) }
        let e = try effects(model: model, examples: examples, receiver: .heads(nameMovers, slot: 0), chunkSize: chunkSize)
        return HeadScoreGrid(layers: e.effects.layers, heads: e.effects.heads, values: e.effects.values.map { -$0 })
    }

    /// logit[IO] − logit[S] of one final-norm row x (the unembedding has no bias).
    static func logitDiff(_ x: UnsafePointer<Float>, _ example: TaskExample, model: NeoXModel) -> Double {
        let d = model.d
        let io = model.embedOut.row(example.correct[0]), s = model.embedOut.row(example.incorrect[0])
        var difference: Float = 0
        for c in 0..<d { difference += x[c] * (io[c] - s[c]) }
        return Double(difference)
    }

    static func validate(_ examples: [TaskExample], model: NeoXModel) throws {
        guard !examples.isEmpty else { throw HeadScoreError.badInput("path patching needs at least one IOI example") }
        let context = model.config.maxPositionEmbeddings
        for (i, e) in examples.enumerated() {
            guard !e.clean.isEmpty, e.clean.count == e.corrupted.count else {
                throw HeadScoreError.badInput("IOI example \(i): clean (\(e.clean.count) tokens) and corrupted (\(e.corrupted.count)) must be non-empty and of equal length")
            }
            guard e.clean.count <= context else {
                throw HeadScoreError.badInput("IOI example \(i) has \(e.clean.count) tokens; the model's context is \(context)")
            }
            guard let io = e.correct.first, let s = e.incorrect.first,
                  (0..<model.vocabSize).contains(io), (0..<model.vocabSize).contains(s) else {
                throw HeadScoreError.badInput("IOI example \(i) needs an IO answer (correct) and an S answer (incorrect) in the model's vocabulary")
            }
        }
    }
}
