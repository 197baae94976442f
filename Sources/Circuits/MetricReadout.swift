import Foundation
import NeoX
import Tensor

/// Reads a task metric at metric rows of a forward trace, and seeds its gradient
/// (spec/eap-ig.md §4; fixtures README §3.3).
///
/// - logit_diff: M = logit[first correct] − logit[first incorrect]; needs two rows of E_out only.
/// - prob_diff: M = Σ p(correct ids) − Σ p(incorrect ids), softmax over all V logits.
struct MetricReadout {
    let model: NeoXModel
    let metric: TaskMetric

    /// Label weights of prob_diff as sparse (id, weight) pairs: +1 per correct id, −1 per incorrect.
    static func probWeights(_ example: TaskExample) -> [(Int, Float)] {
        example.correct.map { ($0, 1) } + example.incorrect.map { ($0, -1) }
    }

    /// Per-example metric values at `rows` (one row per example, in the example order).
    func values(finalNorm: UnsafePointer<Float>, rows: [Int], examples: [TaskExample]) -> [Float] {
        switch metric {
        case .logitDiff:
            return zip(rows, examples).map { row, e in
                Float(logit(finalNorm, row: row, id: e.correct[0]) - logit(finalNorm, row: row, id: e.incorrect[0]))
            }
        case .probDiff:
            let probs = probabilities(finalNorm: finalNorm, rows: rows)
            let V = model.vocabSize
            return examples.enumerated().map { i, e in
                var m: Double = 0
                for (id, w) in Self.probWeights(e) { m += Double(w) * Double(probs.pointer[i * V + id]) }
                return Float(m)
            }
        }
    }

    /// Writes ∂ℒ/∂(final norm output) into `seed` ([rows of trace, d], zeroed by the caller) at
    /// each metric row, for ℒ = −Σ_b weights[b]·M_b.
    func writeSeeds(
        finalNorm: UnsafePointer<Float>, rows: [Int], examples: [TaskExample], weights: [Float],
        into seed: UnsafeMutablePointer<Float>
    ) {
        let d = model.d
        let embedOut = model.embedOut
        switch metric {
        case .logitDiff:
            for (i, row) in rows.enumerated() {
                let c = embedOut.row(examples[i].correct[0]), n = embedOut.row(examples[i].incorrect[0])
                let s = seed + row * d, w = weights[i]
                for k in 0..<d { s[k] -= w * (c[k] - n[k]) }
            }
        case .probDiff:
            let V = model.vocabSize
            let probs = probabilities(finalNorm: finalNorm, rows: rows)
            // dM/dlogit_v = p_v·(pw_v − M); scaled by −weight.
            let dLogits = FloatBuffer(count: rows.count * V)
            for (i, e) in examples.enumerated() {
                let p = probs.pointer + i * V, g = dLogits.pointer + i * V
                let pw = Self.probWeights(e)
                var m: Double = 0
                for (id, w) in pw { m += Double(w) * Double(p[id]) }
                let mf = Float(m), w = weights[i]
                for v in 0..<V { g[v] = -w * p[v] * -mf }
                for (id, wt) in pw { g[id] += -w * p[id] * wt }
            }
            let dNorm = FloatBuffer(count: rows.count * d)
            embedOut.multiplyTransposed(dLogits.pointer, rows: rows.count, into: dNorm.pointer)
            for (i, row) in rows.enumerated() { Kernels.add(dNorm.pointer + i * d, into: seed + row * d, count: d) }
        }
    }

    private func logit(_ finalNorm: UnsafePointer<Float>, row: Int, id: Int) -> Double {
        let d = model.d
        let x = finalNorm + row * d, e = model.embedOut.row(id)
        var s: Double = 0
        for k in 0..<d { s += Double(x[k] * e[k]) }
        return s
    }

    /// Softmax over the full vocabulary at each row, [rows, V].
    private func probabilities(finalNorm: UnsafePointer<Float>, rows: [Int]) -> FloatBuffer {
        let V = model.vocabSize
        let out = FloatBuffer(count: rows.count * V)
        model.logits(finalNorm: finalNorm, rows: rows, into: out.pointer)
        for i in 0..<rows.count {
            let z = out.pointer + i * V
            var maxValue = -Float.infinity
            for v in 0..<V { maxValue = max(maxValue, z[v]) }
            var sum: Double = 0
            for v in 0..<V { let e = exp(z[v] - maxValue); z[v] = e; sum += Double(e) }
            let inv = Float(1 / sum)
            for v in 0..<V { z[v] *= inv }
        }
        return out
    }
}
