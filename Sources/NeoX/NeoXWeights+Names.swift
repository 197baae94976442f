import Tensor

extension NeoXWeights {
    /// Every tensor under its HF name (`embed_out.weight` for the output matrix), in the order
    /// `save_pretrained` sorts them; for writing checkpoints and comparing loads.
    public func namedTensors() -> [(name: String, tensor: Tensor)] {
        var out: [(name: String, tensor: Tensor)] = [
            (NeoXTensorName.embedIn, embedIn),
            (NeoXTensorName.finalLayerNormWeight, finalLayerNormWeight),
            (NeoXTensorName.finalLayerNormBias, finalLayerNormBias),
            (NeoXTensorName.embedOut, embedOut),
        ]
        for (l, layer) in layers.enumerated() {
            let parts: [(NeoXTensorName.LayerPart, Tensor)] = [
                (.inputLayerNormWeight, layer.inputLayerNormWeight), (.inputLayerNormBias, layer.inputLayerNormBias),
                (.postAttentionLayerNormWeight, layer.postAttentionLayerNormWeight),
                (.postAttentionLayerNormBias, layer.postAttentionLayerNormBias),
                (.qkvWeight, layer.qkvWeight), (.qkvBias, layer.qkvBias),
                (.denseWeight, layer.denseWeight), (.denseBias, layer.denseBias),
                (.mlpInWeight, layer.mlpInWeight), (.mlpInBias, layer.mlpInBias),
                (.mlpOutWeight, layer.mlpOutWeight), (.mlpOutBias, layer.mlpOutBias),
            ]
            for (part, tensor) in parts { out.append((NeoXTensorName.layer(l, part), tensor)) }
        }
        return out.sorted { $0.name < $1.name }
    }
}
