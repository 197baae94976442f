import Tensor

/// The GPT-NeoX hyper-parameters the forward pass needs, read from HF `config.json`.
///
/// Both config styles map here: the legacy keys `rotary_pct`/`rotary_emb_base` (Hub, transformers 4)
/// and transformers 5's `rope_parameters.{partial_rotary_factor, rope_theta}`.
/// Spec: ../shared/spec/eap-ig.md §1.1.
public struct NeoXConfig: Sendable, Equatable, Codable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var layerNormEps: Float
    /// Fraction of each head's dimensions that get rotary embeddings.
    public var rotaryPct: Double
    /// Rotary base θ.
    public var rotaryBase: Double
    public var useParallelResidual: Bool
    public var maxPositionEmbeddings: Int
    /// `hidden_act`; only the exact-erf `gelu` is supported.
    public var hiddenAct: String
    /// `torch_dtype` / `dtype` as declared (informational; the file header decides).
    public var declaredDType: String?

    public init(
        vocabSize: Int, hiddenSize: Int, numLayers: Int, numHeads: Int, intermediateSize: Int,
        layerNormEps: Float = 1e-5, rotaryPct: Double = 0.25, rotaryBase: Double = 10000,
        useParallelResidual: Bool = true, maxPositionEmbeddings: Int = 2048,
        hiddenAct: String = "gelu", declaredDType: String? = nil
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.intermediateSize = intermediateSize
        self.layerNormEps = layerNormEps
        self.rotaryPct = rotaryPct
        self.rotaryBase = rotaryBase
        self.useParallelResidual = useParallelResidual
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.hiddenAct = hiddenAct
        self.declaredDType = declaredDType
    }

    /// d_head = d / H.
    public var headDim: Int { hiddenSize / numHeads }
    /// int(d_head · rotary_pct), as HF's `GPTNeoXAttention.__init__`.
    public var rotaryDims: Int { Int(Double(headDim) * rotaryPct) }
}

/// One transformer block's weights in HF layout (`nn.Linear` weight = [out, in]).
public struct NeoXLayerWeights: Sendable {
    public var inputLayerNormWeight: Tensor       // [d]
    public var inputLayerNormBias: Tensor         // [d]
    public var postAttentionLayerNormWeight: Tensor // [d]
    public var postAttentionLayerNormBias: Tensor // [d]
    /// Fused, head-major QKV rows (§1.4): row h·3dh + j·dh + c.
    public var qkvWeight: Tensor                  // [3d, d]
    public var qkvBias: Tensor                    // [3d]
    public var denseWeight: Tensor                // [d, d]
    public var denseBias: Tensor                  // [d]
    public var mlpInWeight: Tensor                // dense_h_to_4h [d_mlp, d]
    public var mlpInBias: Tensor                  // [d_mlp]
    public var mlpOutWeight: Tensor               // dense_4h_to_h [d, d_mlp]
    public var mlpOutBias: Tensor                 // [d]

    public init(
        inputLayerNormWeight: Tensor, inputLayerNormBias: Tensor,
        postAttentionLayerNormWeight: Tensor, postAttentionLayerNormBias: Tensor,
        qkvWeight: Tensor, qkvBias: Tensor, denseWeight: Tensor, denseBias: Tensor,
        mlpInWeight: Tensor, mlpInBias: Tensor, mlpOutWeight: Tensor, mlpOutBias: Tensor
    ) {
        self.inputLayerNormWeight = inputLayerNormWeight
        self.inputLayerNormBias = inputLayerNormBias
        self.postAttentionLayerNormWeight = postAttentionLayerNormWeight
        self.postAttentionLayerNormBias = postAttentionLayerNormBias
        self.qkvWeight = qkvWeight
        self.qkvBias = qkvBias
        self.denseWeight = denseWeight
        self.denseBias = denseBias
        self.mlpInWeight = mlpInWeight
        self.mlpInBias = mlpInBias
        self.mlpOutWeight = mlpOutWeight
        self.mlpOutBias = mlpOutBias
    }
}

/// All weights of a GPT-NeoX causal LM, up-cast to Float32, in HF layout.
public struct NeoXWeights: Sendable {
    public var embedIn: Tensor                    // [V, d]
    public var layers: [NeoXLayerWeights]
    public var finalLayerNormWeight: Tensor       // [d]
    public var finalLayerNormBias: Tensor         // [d]
    /// `embed_out.weight` (Hub files) or `lm_head.weight`: untied unembedding [V, d].
    public var embedOut: Tensor

    public init(
        embedIn: Tensor, layers: [NeoXLayerWeights],
        finalLayerNormWeight: Tensor, finalLayerNormBias: Tensor, embedOut: Tensor
    ) {
        self.embedIn = embedIn
        self.layers = layers
        self.finalLayerNormWeight = finalLayerNormWeight
        self.finalLayerNormBias = finalLayerNormBias
        self.embedOut = embedOut
    }
}
