import Tensor

/// A GPT-NeoX model prepared for the forward and backward passes: weights copied once into
/// stable Float32 buffers, rotary tables and the attention scale computed once.
///
/// The fused QKV matrix is head-major (spec §1.4): the rows of (head h, slot j ∈ {q,k,v}) are the
/// contiguous block `h·3dh + j·dh ..< +dh`, so every per-head projection (forward and the per-slot
/// backward) is a GEMM on a sub-matrix at a fixed offset: the head split costs nothing at run time.
///
/// `@unchecked Sendable`: every buffer is written only in `init` and read-only afterwards.
public final class NeoXModel: @unchecked Sendable {
    public let config: NeoXConfig
    public let layers: [PreparedLayer]
    /// `embed_in` [V, d].
    public let embedIn: FloatBuffer
    /// `embed_out` / `lm_head` [V, d].
    public let embedOut: FloatBuffer
    public let finalNormWeight: FloatBuffer
    public let finalNormBias: FloatBuffer
    public let rotary: RotaryTable
    /// d_head^(−1/2) as HF computes it (`head_size ** -0.5`, then used in Float32).
    public let attentionScale: Float

    /// One layer's weights in HF layout (`[out, in]` matrices).
    public struct PreparedLayer: @unchecked Sendable {
        public let inputNormWeight: FloatBuffer, inputNormBias: FloatBuffer
        public let postAttentionNormWeight: FloatBuffer, postAttentionNormBias: FloatBuffer
        /// [3d, d], head-major rows; [3d].
        public let qkvWeight: FloatBuffer, qkvBias: FloatBuffer
        /// [d, d] (column h·dh + c reads head h); [d] = b_O.
        public let denseWeight: FloatBuffer, denseBias: FloatBuffer
        /// [d_mlp, d]; [d_mlp].
        public let mlpInWeight: FloatBuffer, mlpInBias: FloatBuffer
        /// [d, d_mlp]; [d].
        public let mlpOutWeight: FloatBuffer, mlpOutBias: FloatBuffer
    }

    public var d: Int { config.hiddenSize }
    public var heads: Int { config.numHeads }
    public var headDim: Int { config.headDim }
    public var mlpDim: Int { config.intermediateSize }
    public var vocabSize: Int { config.vocabSize }
    public var layerCount: Int { config.numLayers }
    /// Receiver slots per layer: q, k, v of every head and the MLP input (3H + 1).
    public var slotsPerLayer: Int { 3 * config.numHeads + 1 }
    /// All receiver slots including the final residual: L(3H+1) + 1.
    public var receiverSlotCount: Int { config.numLayers * slotsPerLayer + 1 }

    /// Checks every tensor's shape against the config and copies the weights.
    /// - Throws: `NeoXModelError` naming the first tensor whose shape is wrong, or an unsupported
    ///   configuration.
    public init(config: NeoXConfig, weights: NeoXWeights) throws(NeoXModelError) {
        let d = config.hiddenSize, h = config.numHeads, v = config.vocabSize, f = config.intermediateSize
        guard config.hiddenAct == "gelu" else { throw .unsupported("hidden_act \(config.hiddenAct); only exact-erf gelu") }
        guard h > 0, d % h == 0 else { throw .unsupported("hidden_size \(d) not divisible by num_attention_heads \(h)") }
        guard config.rotaryDims % 2 == 0, config.rotaryDims <= config.headDim else {
            throw .unsupported("rotary dims \(config.rotaryDims) must be even and ≤ head dim \(config.headDim)")
        }
        guard weights.layers.count == config.numLayers else {
            throw .shapeMismatch(tensor: "gpt_neox.layers", expected: [config.numLayers], actual: [weights.layers.count])
        }
        func take(_ t: Tensor, _ name: String, _ shape: [Int]) throws(NeoXModelError) -> FloatBuffer {
            guard t.shape == shape else { throw .shapeMismatch(tensor: name, expected: shape, actual: t.shape) }
            let buffer = FloatBuffer(count: t.count)
            t.storage.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { buffer.pointer.update(from: base, count: t.count) }
            }
            return buffer
        }
        self.config = config
        embedIn = try take(weights.embedIn, "gpt_neox.embed_in.weight", [v, d])
        embedOut = try take(weights.embedOut, "embed_out.weight", [v, d])
        finalNormWeight = try take(weights.finalLayerNormWeight, "gpt_neox.final_layer_norm.weight", [d])
        finalNormBias = try take(weights.finalLayerNormBias, "gpt_neox.final_layer_norm.bias", [d])
        var prepared: [PreparedLayer] = []
        for (l, w) in weights.layers.enumerated() {
            let p = "gpt_neox.layers.\(l)."
            prepared.append(PreparedLayer(
                inputNormWeight: try take(w.inputLayerNormWeight, p + "input_layernorm.weight", [d]),
                inputNormBias: try take(w.inputLayerNormBias, p + "input_layernorm.bias", [d]),
                postAttentionNormWeight: try take(w.postAttentionLayerNormWeight, p + "post_attention_layernorm.weight", [d]),
                postAttentionNormBias: try take(w.postAttentionLayerNormBias, p + "post_attention_layernorm.bias", [d]),
                qkvWeight: try take(w.qkvWeight, p + "attention.query_key_value.weight", [3 * d, d]),
                qkvBias: try take(w.qkvBias, p + "attention.query_key_value.bias", [3 * d]),
                denseWeight: try take(w.denseWeight, p + "attention.dense.weight", [d, d]),
                denseBias: try take(w.denseBias, p + "attention.dense.bias", [d]),
                mlpInWeight: try take(w.mlpInWeight, p + "mlp.dense_h_to_4h.weight", [f, d]),
                mlpInBias: try take(w.mlpInBias, p + "mlp.dense_h_to_4h.bias", [f]),
                mlpOutWeight: try take(w.mlpOutWeight, p + "mlp.dense_4h_to_h.weight", [d, f]),
                mlpOutBias: try take(w.mlpOutBias, p + "mlp.dense_4h_to_h.bias", [d])))
        }
        layers = prepared
        rotary = RotaryTable(rotaryDims: config.rotaryDims, base: config.rotaryBase,
                             maxPositions: max(config.maxPositionEmbeddings, 1))
        attentionScale = Float(1 / Double(config.headDim).squareRoot())
    }

    /// Checks that token ids and sequence lengths fit this model.
    /// - Throws: `NeoXModelError.tokenOutOfRange` or `.sequenceTooLong` naming the sequence.
    public func validate(tokens: [Int], sequence: Int) throws(NeoXModelError) {
        guard !tokens.isEmpty else { throw .emptySequence(sequence: sequence) }
        guard tokens.count <= config.maxPositionEmbeddings else {
            throw .sequenceTooLong(sequence: sequence, length: tokens.count, maximum: config.maxPositionEmbeddings)
        }
        for (position, id) in tokens.enumerated() where id < 0 || id >= config.vocabSize {
            throw .tokenOutOfRange(sequence: sequence, position: position, id: id, vocabSize: config.vocabSize)
        }
    }

    /// Writes `embed_in[t]` for each token as consecutive rows of `output` (stride d).
    public func embed(_ tokens: [Int], into output: UnsafeMutablePointer<Float>) {
        for (r, t) in tokens.enumerated() {
            precondition(t >= 0 && t < vocabSize, "token id \(t) not validated")
            (output + r * d).update(from: embedIn.pointer + t * d, count: d)
        }
    }
}

/// Errors from preparing a model or feeding it input.
public enum NeoXModelError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case unsupported(String)
    case tokenOutOfRange(sequence: Int, position: Int, id: Int, vocabSize: Int)
    case sequenceTooLong(sequence: Int, length: Int, maximum: Int)
    case emptySequence(sequence: Int)
    case badInput(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(tensor, expected, actual):
            "tensor \(tensor) has shape \(actual), the config needs \(expected); check config.json against the weights"
        case let .unsupported(what): "unsupported model configuration: \(what)"
        case let .tokenOutOfRange(sequence, position, id, vocab):
            "sequence \(sequence), position \(position): token id \(id) is outside the vocabulary 0..<\(vocab)"
        case let .sequenceTooLong(sequence, length, maximum):
            "sequence \(sequence) has \(length) tokens, more than max_position_embeddings \(maximum)"
        case let .emptySequence(sequence): "sequence \(sequence) is empty"
        case let .badInput(message): message
        }
    }
}
