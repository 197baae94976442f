/// The HF tensor names of a GPT-NeoX checkpoint, written once
/// (transformers `modeling_gpt_neox.py`, Hub Pythia files).
enum NeoXTensorName {
    static let embedIn = "gpt_neox.embed_in.weight"
    static let finalLayerNormWeight = "gpt_neox.final_layer_norm.weight"
    static let finalLayerNormBias = "gpt_neox.final_layer_norm.bias"
    /// Historical output-matrix name, written by `save_pretrained` and on the Hub.
    static let embedOut = "embed_out.weight"
    /// The in-memory transformers-5 name of the same matrix; canonicalised to `embedOut`.
    static let lmHead = "lm_head.weight"

    /// Per-layer tensors, as `gpt_neox.layers.{l}.<rawValue>`.
    enum LayerPart: String, CaseIterable {
        case inputLayerNormWeight = "input_layernorm.weight"
        case inputLayerNormBias = "input_layernorm.bias"
        case postAttentionLayerNormWeight = "post_attention_layernorm.weight"
        case postAttentionLayerNormBias = "post_attention_layernorm.bias"
        case qkvWeight = "attention.query_key_value.weight"
        case qkvBias = "attention.query_key_value.bias"
        case denseWeight = "attention.dense.weight"
        case denseBias = "attention.dense.bias"
        case mlpInWeight = "mlp.dense_h_to_4h.weight"
        case mlpInBias = "mlp.dense_h_to_4h.bias"
        case mlpOutWeight = "mlp.dense_4h_to_h.weight"
        case mlpOutBias = "mlp.dense_4h_to_h.bias"

        /// Shape implied by the config, HF layout (`nn.Linear` weight = [out, in]).
        func shape(_ config: NeoXConfig) -> [Int] {
            let d = config.hiddenSize, m = config.intermediateSize
            switch self {
            case .inputLayerNormWeight, .inputLayerNormBias, .postAttentionLayerNormWeight,
                 .postAttentionLayerNormBias, .denseBias, .mlpOutBias:
                return [d]
            case .qkvWeight: return [3 * d, d]
            case .qkvBias: return [3 * d]
            case .denseWeight: return [d, d]
            case .mlpInWeight: return [m, d]
            case .mlpInBias: return [m]
            case .mlpOutWeight: return [d, m]
            }
        }
    }

    static func layer(_ index: Int, _ part: LayerPart) -> String {
        "gpt_neox.layers.\(index).\(part.rawValue)"
    }

    /// Non-parameter buffers that old Pythia files carry (causal mask, −1e9 fill, rotary
    /// inv_freq); transformers ignores them, and so do we.
    static let layerBufferSuffixes = [".attention.bias", ".attention.masked_bias", ".attention.rotary_emb.inv_freq"]

    static func isLegacyBuffer(_ name: String) -> Bool {
        name.hasPrefix("gpt_neox.layers.") && layerBufferSuffixes.contains { name.hasSuffix($0) }
    }

    /// Every tensor the model needs, with its expected shape.
    static func expectedShapes(_ config: NeoXConfig, includeEmbedOut: Bool) -> [String: [Int]] {
        let v = config.vocabSize, d = config.hiddenSize
        var shapes: [String: [Int]] = [
            embedIn: [v, d], finalLayerNormWeight: [d], finalLayerNormBias: [d],
        ]
        if includeEmbedOut { shapes[embedOut] = [v, d] }
        for l in 0..<config.numLayers {
            for part in LayerPart.allCases { shapes[layer(l, part)] = part.shape(config) }
        }
        return shapes
    }
}
