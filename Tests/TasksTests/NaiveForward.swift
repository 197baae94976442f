import Foundation
import NeoX
import Tensor

/// A plain, Double-precision GPT-NeoX forward pass over one sequence, written from the HF
/// definition with loops and no shared code, so that path patching and CSPA can be checked against
/// an independent computation. Head outputs (z) and queries (post-rotary) can be replaced per
/// (layer, head, position).
struct NaiveForward {
    let config: NeoXConfig
    let weights: NeoXWeights

    struct Run {
        /// x^l for l in 0...L: [L+1][P][d].
        var residuals: [[[Double]]]
        /// Post-rotary queries and values per layer and head: [L][H][P][dh].
        var queries: [[[[Double]]]]
        var values: [[[[Double]]]]
        /// z per layer and head: [L][H][P][dh].
        var z: [[[[Double]]]]
        /// Attention [L][H][q][k].
        var patterns: [[[[Double]]]]
        /// Final layer norm output [P][d].
        var finalNorm: [[Double]]
    }

    typealias Override = (_ layer: Int, _ head: Int, _ position: Int) -> [Double]?

    var d: Int { config.hiddenSize }
    var dh: Int { config.headDim }

    func run(_ tokens: [Int], z zOverride: Override? = nil, query queryOverride: Override? = nil) -> Run {
        let P = tokens.count, L = config.numLayers, H = config.numHeads, d = d, dh = dh
        var x = tokens.map { t in (0..<d).map { Double(weights.embedIn.storage[t * d + $0]) } }
        var run = Run(residuals: [x], queries: [], values: [], z: [], patterns: [], finalNorm: [])
        for l in 0..<L {
            let w = weights.layers[l]
            let ln1 = x.map { layerNorm($0, w.inputLayerNormWeight, w.inputLayerNormBias) }
            let qkv = ln1.map { linear($0, w.qkvWeight, w.qkvBias, out: 3 * d) }
            var layerQ: [[[Double]]] = [], layerV: [[[Double]]] = [], layerZ: [[[Double]]] = [], layerA: [[[Double]]] = []
            for h in 0..<H {
                var q = (0..<P).map { p in rotate(Array(qkv[p][(h * 3 * dh)..<(h * 3 * dh + dh)]), position: p) }
                let k = (0..<P).map { p in rotate(Array(qkv[p][(h * 3 * dh + dh)..<(h * 3 * dh + 2 * dh)]), position: p) }
                let v = (0..<P).map { p in Array(qkv[p][(h * 3 * dh + 2 * dh)..<(h * 3 * dh + 3 * dh)]) }
                for p in 0..<P { if let replaced = queryOverride?(l, h, p) { q[p] = replaced } }
                var pattern = [[Double]](repeating: [Double](repeating: 0, count: P), count: P)
                var z = [[Double]](repeating: [Double](repeating: 0, count: dh), count: P)
                for i in 0..<P {
                    let scores = (0...i).map { j in zip(q[i], k[j]).reduce(0) { $0 + $1.0 * $1.1 } / Double(dh).squareRoot() }
                    let top = scores.max()!
                    let e = scores.map { Foundation.exp($0 - top) }
                    let sum = e.reduce(0, +)
                    for j in 0...i {
                        pattern[i][j] = e[j] / sum
                        for c in 0..<dh { z[i][c] += pattern[i][j] * v[j][c] }
                    }
                    if let replaced = zOverride?(l, h, i) { z[i] = replaced }
                }
                layerQ.append(q); layerV.append(v); layerZ.append(z); layerA.append(pattern)
            }
            run.queries.append(layerQ); run.values.append(layerV); run.z.append(layerZ); run.patterns.append(layerA)
            let attention = (0..<P).map { p in linear((0..<H).flatMap { layerZ[$0][p] }, w.denseWeight, w.denseBias, out: d) }
            var mlpInput: [[Double]] = x
            if !config.useParallelResidual {
                for p in 0..<P { for c in 0..<d { mlpInput[p][c] += attention[p][c] } }
            }
            let mlp = mlpInput.map { row -> [Double] in
                let hidden = linear(layerNorm(row, w.postAttentionLayerNormWeight, w.postAttentionLayerNormBias),
                                    w.mlpInWeight, w.mlpInBias, out: config.intermediateSize)
                return linear(hidden.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, w.mlpOutWeight, w.mlpOutBias, out: d)
            }
            for p in 0..<P {
                for c in 0..<d { x[p][c] += attention[p][c] + mlp[p][c] }
            }
            run.residuals.append(x)
        }
        run.finalNorm = x.map { layerNorm($0, weights.finalLayerNormWeight, weights.finalLayerNormBias) }
        return run
    }

    /// Logit of `token` from a final-norm row.
    func logit(_ finalNorm: [Double], _ token: Int) -> Double {
        (0..<d).reduce(0) { $0 + finalNorm[$1] * Double(weights.embedOut.storage[token * d + $1]) }
    }

    func logits(_ finalNorm: [Double]) -> [Double] { (0..<config.vocabSize).map { logit(finalNorm, $0) } }

    func layerNorm(_ x: [Double], _ g: Tensor, _ b: Tensor) -> [Double] {
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        let scale = 1 / (variance + Double(config.layerNormEps)).squareRoot()
        return x.indices.map { (x[$0] - mean) * scale * Double(g.storage[$0]) + Double(b.storage[$0]) }
    }

    /// W·x + b for an HF weight [out, in].
    func linear(_ x: [Double], _ w: Tensor, _ b: Tensor, out: Int) -> [Double] {
        let width = x.count
        return (0..<out).map { o in
            var sum = Double(b.storage[o])
            for i in 0..<width { sum += Double(w.storage[o * width + i]) * x[i] }
            return sum
        }
    }

    /// NeoX partial rotary embedding (rotate_half form) at `position`.
    func rotate(_ x: [Double], position: Int) -> [Double] {
        let rotary = config.rotaryDims, half = rotary / 2
        var out = x
        for i in 0..<half {
            let angle = Double(position) * Foundation.pow(config.rotaryBase, -Double(2 * i) / Double(rotary))
            out[i] = x[i] * cos(angle) - x[i + half] * sin(angle)
            out[i + half] = x[i + half] * cos(angle) + x[i] * sin(angle)
        }
        return out
    }
}
