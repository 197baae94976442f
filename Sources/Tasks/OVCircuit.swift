import Foundation
import NeoX
import Tensor

/// Per-head OV maps and the pieces of the model the weight-based head scores need, read from HF
/// layout weights (spec/eap-ig.md §1.4: fused QKV rows are head-major, row h·3dh + j·dh + c with
/// j = 0, 1, 2 for q, k, v; `attention.dense` columns h·dh ..< (h+1)·dh belong to head h).
struct OVCircuit {
    let config: NeoXConfig
    let weights: NeoXWeights

    var d: Int { config.hiddenSize }
    var dh: Int { config.headDim }

    /// W_V of head h as [dh, d] (rows of the fused matrix).
    func valueWeight(layer l: Int, head h: Int) -> Tensor {
        let qkv = weights.layers[l].qkvWeight
        let start = (h * 3 * dh + 2 * dh) * d
        // Slicing an in-bounds block of a validated tensor cannot fail.
        return (try? Tensor(shape: [dh, d], elements: qkv.storage[start..<(start + dh * d)])) ?? Tensor(zeros: [dh, d])
    }

    /// W_O of head h as [d, dh] (columns of `attention.dense`).
    func outputWeight(layer l: Int, head h: Int) -> Tensor {
        let dense = weights.layers[l].denseWeight
        var out = Tensor(zeros: [d, dh])
        for o in 0..<d {
            for c in 0..<dh { out.storage[o * dh + c] = dense.storage[o * d + h * dh + c] }
        }
        return out
    }

    /// x·W_Vᵀ·W_Oᵀ for rows x of `input` [N, d] (no biases): the head's OV map.
    func apply(layer l: Int, head h: Int, to input: Tensor) -> Tensor {
        let v = BLAS.matmul(input, .none, valueWeight(layer: l, head: h), .transposed)
        return BLAS.matmul(v, .none, outputWeight(layer: l, head: h), .transposed)
    }

    /// Block 0's MLP on raw rows (no LayerNorm): W_out·gelu(W_in·x + b_in) + b_out, exact-erf GELU.
    func mlp0(_ input: Tensor) -> Tensor {
        let layer = weights.layers[0]
        var hidden = BLAS.matmul(input, .none, layer.mlpInWeight, .transposed)
        let f = config.intermediateSize
        for r in 0..<input.shape[0] {
            for j in 0..<f {
                let x = Double(hidden.storage[r * f + j] + layer.mlpInBias.storage[j])
                hidden.storage[r * f + j] = Float(0.5 * x * (1 + erf(x / 2.0.squareRoot())))
            }
        }
        var out = BLAS.matmul(hidden, .none, layer.mlpOutWeight, .transposed)
        for r in 0..<input.shape[0] {
            for c in 0..<d { out.storage[r * d + c] += layer.mlpOutBias.storage[c] }
        }
        return out
    }

    /// Rows `ids` of a [V, d] matrix as [n, d].
    static func rows(_ ids: [Int], of matrix: Tensor) -> Tensor {
        let d = matrix.shape[1]
        var out = Tensor(zeros: [ids.count, d])
        for (r, id) in ids.enumerated() {
            for c in 0..<d { out.storage[r * d + c] = matrix.storage[id * d + c] }
        }
        return out
    }
}
