import Foundation
import NeoX
import Tensor

/// Per-head OV maps and the pieces of the model the weight-based head scores need, read from HF
/// layout weights (spec/eap-ig.md §1.4: fused QKV rows are head-major, row h·3dh + j·dh + c with
/// j = 0, 1, 2 for q, k, v; `attention.dense` columns h·dh ..< (h+1)·dh belong to head h).
struct OVCircuit {
    let config: NeoXConfig
    let weights: ScoreWeights

    var d: Int { config.hiddenSize }
    var dh: Int { config.headDim }

    /// W_V of head h as [dh, d] (rows of the fused matrix).
    func valueWeight(layer l: Int, head h: Int) -> Tensor {
        weights.block(.qkvWeight(l), start: (h * 3 * dh + 2 * dh) * d, shape: [dh, d])
    }

    /// W_O of head h as [d, dh] (columns of `attention.dense`).
    func outputWeight(layer l: Int, head h: Int) -> Tensor {
        let dense = weights.tensor(.denseWeight(l))
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
        let mlpInBias = weights.tensor(.mlpInBias(0)), mlpOutBias = weights.tensor(.mlpOutBias(0))
        var hidden = BLAS.matmul(input, .none, weights.tensor(.mlpInWeight(0)), .transposed)
        let f = config.intermediateSize
        for r in 0..<input.shape[0] {
            for j in 0..<f {
                let x = Double(hidden.storage[r * f + j] + mlpInBias.storage[j])
                hidden.storage[r * f + j] = Float(0.5 * x * (1 + erf(x / 2.0.squareRoot())))
            }
        }
        var out = BLAS.matmul(hidden, .none, weights.tensor(.mlpOutWeight(0)), .transposed)
        for r in 0..<input.shape[0] {
            for c in 0..<d { out.storage[r * d + c] += mlpOutBias.storage[c] }
        }
        return out
    }
}

/// Read access to the weights the weight-based head scores need, from HF-layout `NeoXWeights` or
/// from a prepared `NeoXModel` (whose buffers hold the same HF-layout values), so a caller that
/// keeps only the model never needs a second resident copy of the weights.
///
/// From a model, `tensor(_:)` copies one tensor (transient; callers hoist it out of loops), and
/// `block` and `rows` copy only the elements asked for.
struct ScoreWeights {
    enum Part {
        case embedIn, embedOut, finalNormWeight, finalNormBias
        case inputNormWeight(Int), qkvWeight(Int), denseWeight(Int)
        case mlpInWeight(Int), mlpInBias(Int), mlpOutWeight(Int), mlpOutBias(Int)
    }

    private enum Source {
        case weights(NeoXWeights)
        case model(NeoXModel)
    }

    private let source: Source
    let config: NeoXConfig

    init(config: NeoXConfig, weights: NeoXWeights) {
        self.config = config
        source = .weights(weights)
    }

    init(model: NeoXModel) {
        config = model.config
        source = .model(model)
    }

    /// The shape of `part` (HF layout).
    func shape(_ part: Part) -> [Int] {
        let d = config.hiddenSize, f = config.intermediateSize, v = config.vocabSize
        return switch part {
        case .embedIn, .embedOut: [v, d]
        case .finalNormWeight, .finalNormBias, .inputNormWeight, .mlpOutBias: [d]
        case .qkvWeight: [3 * d, d]
        case .denseWeight: [d, d]
        case .mlpInWeight: [f, d]
        case .mlpInBias: [f]
        case .mlpOutWeight: [d, f]
        }
    }

    /// The whole tensor (a copy when read from a model).
    func tensor(_ part: Part) -> Tensor {
        switch source {
        case let .weights(weights):
            return switch part {
            case .embedIn: weights.embedIn
            case .embedOut: weights.embedOut
            case .finalNormWeight: weights.finalLayerNormWeight
            case .finalNormBias: weights.finalLayerNormBias
            case let .inputNormWeight(l): weights.layers[l].inputLayerNormWeight
            case let .qkvWeight(l): weights.layers[l].qkvWeight
            case let .denseWeight(l): weights.layers[l].denseWeight
            case let .mlpInWeight(l): weights.layers[l].mlpInWeight
            case let .mlpInBias(l): weights.layers[l].mlpInBias
            case let .mlpOutWeight(l): weights.layers[l].mlpOutWeight
            case let .mlpOutBias(l): weights.layers[l].mlpOutBias
            }
        case .model:
            let shape = shape(part)
            return block(part, start: 0, shape: shape)
        }
    }

    /// `shape.product` consecutive elements of `part` from flat offset `start`, as a tensor.
    func block(_ part: Part, start: Int, shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        precondition(start >= 0 && start + count <= self.shape(part).reduce(1, *), "block outside \(part)")
        var out = Tensor(zeros: shape)
        switch source {
        case let .weights(weights):
            let whole = tensor(part)
            out.storage.withUnsafeMutableBufferPointer { dst in
                whole.storage.withUnsafeBufferPointer { src in
                    if let to = dst.baseAddress, let from = src.baseAddress { to.update(from: from + start, count: count) }
                }
            }
        case let .model(model):
            out.storage.withUnsafeMutableBufferPointer { dst in
                guard let to = dst.baseAddress else { return }
                switch Self.storage(part, of: model) {
                case let .plain(buffer): to.update(from: buffer.pointer + start, count: count)
                case let .packed(matrix): matrix.copyElements(from: start, count: count, into: to)
                }
            }
        }
        return out
    }

    /// Rows `ids` of the [V, d] matrix `part` as [n, d].
    func rows(_ ids: [Int], of part: Part) -> Tensor {
        let d = shape(part)[1]
        var out = Tensor(zeros: [ids.count, d])
        for (r, id) in ids.enumerated() {
            let row = block(part, start: id * d, shape: [d])
            for c in 0..<d { out.storage[r * d + c] = row.storage[c] }
        }
        return out
    }

    /// Where a model keeps a part: vectors and the embedding plain, matrices packed.
    private enum ModelStorage {
        case plain(FloatBuffer)
        case packed(PackedMatrix)
    }

    private static func storage(_ part: Part, of model: NeoXModel) -> ModelStorage {
        switch part {
        case .embedIn: .plain(model.embedIn)
        case .embedOut: .packed(model.embedOut)
        case .finalNormWeight: .plain(model.finalNormWeight)
        case .finalNormBias: .plain(model.finalNormBias)
        case let .inputNormWeight(l): .plain(model.layers[l].inputNormWeight)
        case let .qkvWeight(l): .packed(model.layers[l].qkvWeight)
        case let .denseWeight(l): .packed(model.layers[l].denseWeight)
        case let .mlpInWeight(l): .packed(model.layers[l].mlpInWeight)
        case let .mlpInBias(l): .plain(model.layers[l].mlpInBias)
        case let .mlpOutWeight(l): .packed(model.layers[l].mlpOutWeight)
        case let .mlpOutBias(l): .plain(model.layers[l].mlpOutBias)
        }
    }
}
