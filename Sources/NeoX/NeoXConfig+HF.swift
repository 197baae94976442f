import Foundation

extension NeoXConfig {
    /// Reads and validates a Hugging Face GPT-NeoX `config.json`.
    ///
    /// Accepts both the Hub/transformers-4 keys (`rotary_pct`, `rotary_emb_base`, `torch_dtype`) and
    /// the transformers-5 form (`rope_parameters.{partial_rotary_factor, rope_theta}`, `dtype`).
    /// Mirrors `GPTNeoXConfig.__init__` defaults (transformers `configuration_gpt_neox.py`).
    /// - Parameter file: the `config.json` to read.
    /// - Throws: `CheckpointError.unreadable`, `.configUnreadable` or `.configInvalid`.
    public init(contentsOf file: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw CheckpointError.unreadable(file: file.path, reason: error.localizedDescription)
        }
        try self.init(hfConfigJSON: data, file: file.path)
    }

    /// Decodes `config.json` bytes; `file` only labels errors.
    public init(hfConfigJSON data: Data, file: String = "config.json") throws {
        let raw: HFConfigFile
        do {
            raw = try JSONDecoder().decode(HFConfigFile.self, from: data)
        } catch let error as DecodingError {
            throw CheckpointError.configUnreadable(file: file, reason: error.readableDescription)
        } catch {
            throw CheckpointError.configUnreadable(file: file, reason: "\(error)")
        }
        self = try raw.validated(file: file)
    }

    /// Whether the output embedding is tied to the input embedding (`tie_word_embeddings`).
    ///
    /// Not stored on `NeoXConfig`: the loader resolves tying into `NeoXWeights.embedOut`.
    static func tiesWordEmbeddings(hfConfigJSON data: Data) -> Bool {
        (try? JSONDecoder().decode(HFConfigFile.self, from: data))?.tieWordEmbeddings ?? false
    }
}

extension NeoXConfig {
    /// A Hub-style (transformers 4) `config.json` for this config, as Pythia's files spell it.
    public func hfConfigJSON() throws -> Data {
        typealias Key = HFConfigFile.CodingKeys
        let object: [String: Any] = [
            Key.modelType.rawValue: "gpt_neox", "architectures": ["GPTNeoXForCausalLM"],
            Key.vocabSize.rawValue: vocabSize, Key.hiddenSize.rawValue: hiddenSize,
            Key.numHiddenLayers.rawValue: numLayers, Key.numAttentionHeads.rawValue: numHeads,
            Key.intermediateSize.rawValue: intermediateSize, Key.hiddenAct.rawValue: hiddenAct,
            Key.layerNormEps.rawValue: Double(layerNormEps), Key.rotaryPct.rawValue: rotaryPct,
            Key.rotaryEmbBase.rawValue: rotaryBase, Key.useParallelResidual.rawValue: useParallelResidual,
            Key.maxPositionEmbeddings.rawValue: maxPositionEmbeddings, Key.tieWordEmbeddings.rawValue: false,
            Key.torchDType.rawValue: declaredDType ?? "float32",
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}

/// `config.json` as written by transformers; every HF key name appears only here.
struct HFConfigFile: Decodable {
    struct RopeParameters: Decodable {
        var partialRotaryFactor: Double?
        var ropeTheta: Double?
        var ropeType: String?

        enum CodingKeys: String, CodingKey {
            case partialRotaryFactor = "partial_rotary_factor"
            case ropeTheta = "rope_theta"
            case ropeType = "rope_type"
        }
    }

    var modelType: String?
    var vocabSize: Int?
    var hiddenSize: Int?
    var numHiddenLayers: Int?
    var numAttentionHeads: Int?
    var intermediateSize: Int?
    var hiddenAct: String?
    var layerNormEps: Double?
    var rotaryPct: Double?
    var rotaryEmbBase: Double?
    var ropeParameters: RopeParameters?
    var useParallelResidual: Bool?
    var maxPositionEmbeddings: Int?
    var tieWordEmbeddings: Bool?
    var attentionBias: Bool?
    var dtype: String?
    var torchDType: String?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
        case rotaryPct = "rotary_pct"
        case rotaryEmbBase = "rotary_emb_base"
        case ropeParameters = "rope_parameters"
        case useParallelResidual = "use_parallel_residual"
        case maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias"
        case dtype
        case torchDType = "torch_dtype"
    }

    func validated(file: String) throws -> NeoXConfig {
        func invalid(_ key: CodingKeys, _ reason: String) -> CheckpointError {
            .configInvalid(file: file, key: key.rawValue, reason: reason)
        }
        func required(_ value: Int?, _ key: CodingKeys) throws -> Int {
            guard let value else { throw invalid(key, "missing; a GPT-NeoX config must set it") }
            guard value > 0 else { throw invalid(key, "must be positive, got \(value)") }
            return value
        }

        if let modelType, modelType != "gpt_neox" {
            throw invalid(.modelType, "is '\(modelType)'; only 'gpt_neox' (Pythia) models are supported")
        }
        let vocab = try required(vocabSize, .vocabSize)
        let hidden = try required(hiddenSize, .hiddenSize)
        let layers = try required(numHiddenLayers, .numHiddenLayers)
        let heads = try required(numAttentionHeads, .numAttentionHeads)
        let mlp = try required(intermediateSize, .intermediateSize)
        let maxPositions = try required(maxPositionEmbeddings ?? 2048, .maxPositionEmbeddings)
        guard hidden % heads == 0 else {
            throw invalid(.hiddenSize, "\(hidden) is not divisible by num_attention_heads \(heads)")
        }
        let act = hiddenAct ?? "gelu"
        guard act == "gelu" else {
            throw invalid(.hiddenAct, "is '\(act)'; only the exact-erf 'gelu' of GPT-NeoX/Pythia is supported")
        }
        let eps = layerNormEps ?? 1e-5
        guard eps > 0, eps.isFinite else { throw invalid(.layerNormEps, "must be a positive number, got \(eps)") }
        if attentionBias == false {
            throw invalid(.attentionBias, "is false; only GPT-NeoX attention with biases is supported")
        }

        // transformers 5 moved rotary_pct/rotary_emb_base into rope_parameters; accept either,
        // refuse a file whose two spellings disagree.
        if let type = ropeParameters?.ropeType, type != "default" {
            throw invalid(.ropeParameters, "rope_type '\(type)' is not supported; only 'default' rotary embeddings are")
        }
        let pct = try agreeing(ropeParameters?.partialRotaryFactor, rotaryPct, default: 0.25,
                               new: "rope_parameters.partial_rotary_factor", legacy: .rotaryPct, file: file)
        let base = try agreeing(ropeParameters?.ropeTheta, rotaryEmbBase, default: 10000,
                                new: "rope_parameters.rope_theta", legacy: .rotaryEmbBase, file: file)
        guard pct >= 0, pct <= 1 else { throw invalid(.rotaryPct, "must be in [0, 1], got \(pct)") }
        guard base > 0, base.isFinite else { throw invalid(.rotaryEmbBase, "must be positive, got \(base)") }

        let config = NeoXConfig(
            vocabSize: vocab, hiddenSize: hidden, numLayers: layers, numHeads: heads,
            intermediateSize: mlp, layerNormEps: Float(eps), rotaryPct: pct, rotaryBase: base,
            useParallelResidual: useParallelResidual ?? true, maxPositionEmbeddings: maxPositions,
            hiddenAct: act, declaredDType: dtype ?? torchDType
        )
        guard config.rotaryDims % 2 == 0 else {
            throw invalid(.rotaryPct, "gives \(config.rotaryDims) rotary dimensions per head (head size \(config.headDim)); it must be even")
        }
        return config
    }

    private func agreeing(
        _ new: Double?, _ legacy: Double?, default fallback: Double,
        new newKey: String, legacy legacyKey: CodingKeys, file: String
    ) throws -> Double {
        if let new, let legacy, new != legacy {
            throw CheckpointError.configInvalid(
                file: file, key: newKey,
                reason: "is \(new) but the legacy key '\(legacyKey.rawValue)' says \(legacy); remove one")
        }
        return new ?? legacy ?? fallback
    }
}

extension DecodingError {
    /// "key.path: what was wrong", without Foundation's debug dump.
    var readableDescription: String {
        func path(_ context: Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "top level" : keys.joined(separator: ".")
        }
        switch self {
        case let .typeMismatch(type, context):
            return "\(path(context)): expected \(type); \(context.debugDescription)"
        case let .valueNotFound(type, context):
            return "\(path(context)): expected \(type), found null"
        case let .keyNotFound(key, context):
            return "\(path(context)): missing key '\(key.stringValue)'"
        case let .dataCorrupted(context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(self)"
        }
    }
}
