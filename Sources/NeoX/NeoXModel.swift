import Tensor

/// A GPT-NeoX model prepared for the forward and backward passes: weights copied once into
/// stable Float32 buffers (the matrices of the linear layers and the unembedding packed into
/// panels for `PackedMatrix`'s kernels), rotary tables and the attention scale computed once.
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
    /// `embed_out` / `lm_head` [V, d], packed.
    public let embedOut: PackedMatrix
    public let finalNormWeight: FloatBuffer
    public let finalNormBias: FloatBuffer
    public let rotary: RotaryTable
    /// d_head^(−1/2) as HF computes it (`head_size ** -0.5`, then used in Float32).
    public let attentionScale: Float

    /// One layer's weights; matrices are HF's `[out, in]` ones, packed.
    public struct PreparedLayer: @unchecked Sendable {
        public let inputNormWeight: FloatBuffer, inputNormBias: FloatBuffer
        public let postAttentionNormWeight: FloatBuffer, postAttentionNormBias: FloatBuffer
        /// [3d, d], head-major rows; [3d].
        public let qkvWeight: PackedMatrix, qkvBias: FloatBuffer
        /// [d, d] (column h·dh + c reads head h); [d] = b_O.
        public let denseWeight: PackedMatrix, denseBias: FloatBuffer
        /// [d_mlp, d]; [d_mlp].
        public let mlpInWeight: PackedMatrix, mlpInBias: FloatBuffer
        /// [d, d_mlp]; [d].
        public let mlpOutWeight: PackedMatrix, mlpOutBias: FloatBuffer
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

    /// Checks every tensor's shape against the config and copies the weights; the caller keeps
    /// `weights`, so while this runs (and as long as the caller holds them) the weights are
    /// resident twice. Prefer `init(checkpoint:)` or `init(config:consuming:)` for full-size models.
    /// - Throws: `NeoXModelError` naming the first tensor whose shape is wrong, or an unsupported
    ///   configuration.
    public convenience init(config: NeoXConfig, weights: NeoXWeights) throws(NeoXModelError) {
        var shared = weights  // shares the caller's storage; taking from it frees nothing
        try self.init(config: config, taking: &shared)
    }

    /// Checks every tensor's shape and moves the weights into the model: each tensor is copied
    /// into its `FloatBuffer` and then released, so at most one tensor is resident twice.
    ///
    /// The storage is only freed if the caller gives up every other reference to it, e.g.
    /// `NeoXModel(config: config, consuming: consume weights)`.
    /// - Throws: `NeoXModelError` naming the first tensor whose shape is wrong, or an unsupported
    ///   configuration.
    public convenience init(config: NeoXConfig, consuming weights: consuming NeoXWeights) throws(NeoXModelError) {
        try self.init(config: config, taking: &weights)
    }

    /// Prepares the model of a loaded checkpoint, releasing its weights tensor by tensor (see
    /// `init(config:consuming:)`). Read `contentHash` or other fields before, and pass
    /// `consume checkpoint` so no second reference keeps the weights alive.
    /// - Throws: `NeoXModelError` if a tensor does not fit the config.
    public convenience init(checkpoint: consuming NeoXCheckpoint) throws(NeoXModelError) {
        let config = checkpoint.config
        try self.init(config: config, taking: &checkpoint.weights)
    }

    /// Moves the tensors out of `weights` one at a time (each slot is left empty), copying each
    /// into a `FloatBuffer`; a source tensor is freed as soon as its copy exists, unless someone
    /// else still references its storage.
    init(config: NeoXConfig, taking weights: inout NeoXWeights) throws(NeoXModelError) {
        let d = config.hiddenSize, h = config.numHeads, v = config.vocabSize, f = config.intermediateSize
        guard config.hiddenAct == "gelu" else { throw .unsupported("hidden_act \(config.hiddenAct); only exact-erf gelu") }
        guard h > 0, d % h == 0 else { throw .unsupported("hidden_size \(d) not divisible by num_attention_heads \(h)") }
        guard config.rotaryDims % 2 == 0, config.rotaryDims <= config.headDim else {
            throw .unsupported("rotary dims \(config.rotaryDims) must be even and ≤ head dim \(config.headDim)")
        }
        guard weights.layers.count == config.numLayers else {
            throw .shapeMismatch(tensor: "gpt_neox.layers", expected: [config.numLayers], actual: [weights.layers.count])
        }
        func take(_ slot: inout Tensor, _ name: String, _ shape: [Int]) throws(NeoXModelError) -> FloatBuffer {
            guard slot.shape == shape else { throw .shapeMismatch(tensor: name, expected: shape, actual: slot.shape) }
            var source = Tensor(zeros: [0])
            swap(&source, &slot)
            let buffer = FloatBuffer(count: source.count)
            source.storage.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { buffer.pointer.update(from: base, count: src.count) }
            }
            return buffer  // `source` is released here
        }
        func pack(_ slot: inout Tensor, _ name: String, _ shape: [Int]) throws(NeoXModelError) -> PackedMatrix {
            guard slot.shape == shape else { throw .shapeMismatch(tensor: name, expected: shape, actual: slot.shape) }
            var source = Tensor(zeros: [0])
            swap(&source, &slot)
            return source.storage.withUnsafeBufferPointer { PackedMatrix(rowMajor: $0, rows: shape[0], columns: shape[1]) }
            // `source` is released here
        }
        self.config = config
        embedIn = try take(&weights.embedIn, "gpt_neox.embed_in.weight", [v, d])
        embedOut = try pack(&weights.embedOut, "embed_out.weight", [v, d])
        finalNormWeight = try take(&weights.finalLayerNormWeight, "gpt_neox.final_layer_norm.weight", [d])
        finalNormBias = try take(&weights.finalLayerNormBias, "gpt_neox.final_layer_norm.bias", [d])
        var prepared: [PreparedLayer] = []
        prepared.reserveCapacity(config.numLayers)
        for l in 0..<config.numLayers {
            let p = "gpt_neox.layers.\(l)."
            prepared.append(PreparedLayer(
                inputNormWeight: try take(&weights.layers[l].inputLayerNormWeight, p + "input_layernorm.weight", [d]),
                inputNormBias: try take(&weights.layers[l].inputLayerNormBias, p + "input_layernorm.bias", [d]),
                postAttentionNormWeight: try take(&weights.layers[l].postAttentionLayerNormWeight, p + "post_attention_layernorm.weight", [d]),
                postAttentionNormBias: try take(&weights.layers[l].postAttentionLayerNormBias, p + "post_attention_layernorm.bias", [d]),
                qkvWeight: try pack(&weights.layers[l].qkvWeight, p + "attention.query_key_value.weight", [3 * d, d]),
                qkvBias: try take(&weights.layers[l].qkvBias, p + "attention.query_key_value.bias", [3 * d]),
                denseWeight: try pack(&weights.layers[l].denseWeight, p + "attention.dense.weight", [d, d]),
                denseBias: try take(&weights.layers[l].denseBias, p + "attention.dense.bias", [d]),
                mlpInWeight: try pack(&weights.layers[l].mlpInWeight, p + "mlp.dense_h_to_4h.weight", [f, d]),
                mlpInBias: try take(&weights.layers[l].mlpInBias, p + "mlp.dense_h_to_4h.bias", [f]),
                mlpOutWeight: try pack(&weights.layers[l].mlpOutWeight, p + "mlp.dense_4h_to_h.weight", [d, f]),
                mlpOutBias: try take(&weights.layers[l].mlpOutBias, p + "mlp.dense_4h_to_h.bias", [d])))
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
