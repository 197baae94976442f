import Foundation
import Tensor

/// A GPT-NeoX checkpoint loaded from a folder: config, Float32 weights and a content hash.
///
/// Mirrors the load path of transformers `GPTNeoXForCausalLM.from_pretrained` for the formats
/// Pythia uses, and mlx-swift-lm `MLXLMCommon/Load.swift` for the sanitize-then-verify step.
public struct NeoXCheckpoint: Sendable {
    public var config: NeoXConfig
    public var weights: NeoXWeights
    /// The folder the checkpoint was read from (for a Hub cache: the snapshot folder).
    public var directory: URL
    /// The weight files read, in reading order.
    public var weightFiles: [URL]
    /// Lower-case hex SHA-256 identifying the weight bytes.
    ///
    /// For a single weight file this is the file's SHA-256, which equals its Hub LFS etag (the
    /// blob name in the HF cache). For shards it is the SHA-256 of the lines
    /// `"<file name> <file sha256>\n"` sorted by file name. Two revisions with equal hashes serve
    /// identical weights.
    public var contentHash: String

    public init(config: NeoXConfig, weights: NeoXWeights, directory: URL, weightFiles: [URL], contentHash: String) {
        self.config = config
        self.weights = weights
        self.directory = directory
        self.weightFiles = weightFiles
        self.contentHash = contentHash
    }

    /// Loads `config.json` and the weights of a checkpoint folder.
    ///
    /// Weight files, in order of preference: `model.safetensors.index.json` (shards),
    /// `model.safetensors`, `pytorch_model.bin.index.json`, `pytorch_model.bin`. Safetensors may
    /// hold F32, F16 or BF16; every weight is up-cast to Float32 once and each file is released
    /// after its tensors are converted. Legacy buffers (`attention.bias`, `attention.masked_bias`,
    /// `attention.rotary_emb.inv_freq`) are skipped; `lm_head.weight` is accepted for
    /// `embed_out.weight`. Any other missing or extra tensor, or a shape that disagrees with the
    /// config, is an error.
    /// - Parameters:
    ///   - directory: a plain folder or a resolved HF snapshot folder (see `ModelLocator`).
    ///   - hashContent: compute `contentHash` (one streamed read of every weight file); when false
    ///     `contentHash` is empty.
    /// - Throws: `CheckpointError`, naming the file and tensor.
    public static func load(from directory: URL, hashContent: Bool = true) throws -> NeoXCheckpoint {
        let configFile = directory.appendingPathComponent("config.json")
        let configData: Data
        do {
            configData = try Data(contentsOf: configFile)
        } catch {
            throw CheckpointError.unreadable(file: configFile.path, reason: error.localizedDescription)
        }
        let config = try NeoXConfig(hfConfigJSON: configData, file: configFile.path)
        let tied = NeoXConfig.tiesWordEmbeddings(hfConfigJSON: configData)
        let layout = try WeightFileLayout.discover(in: directory)

        var sources: [WeightSource?] = try layout.files.map { file in
            switch layout.format {
            case .safetensors: try SafetensorsFile(url: file)
            case .torch: try TorchCheckpointFile(url: file)
            }
        }
        let plan = try planLoad(config: config, tied: tied, sources: sources.compactMap { $0 }, layout: layout)

        // Convert file by file and drop each mapping as soon as its tensors are Float32.
        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(plan.count)
        for index in sources.indices {
            guard let source = sources[index] else { continue }
            for (canonical, stored) in plan where stored.sourceIndex == index {
                tensors[canonical] = try source.floatTensor(stored.storedName)
            }
            sources[index] = nil
        }
        if tied { tensors[NeoXTensorName.embedOut] = tensors[NeoXTensorName.embedIn] }

        let weights = try assemble(config: config, tensors: &tensors)
        let hash = hashContent ? try ContentHash.sha256(ofFiles: layout.files) : ""
        return NeoXCheckpoint(config: config, weights: weights, directory: directory,
                              weightFiles: layout.files, contentHash: hash)
    }

    /// Resolves `location` (see `ModelLocator`) and loads the checkpoint there.
    /// - Throws: `ModelLocationError` or `CheckpointError`.
    public static func load(_ location: ModelLocation, hashContent: Bool = true) throws -> NeoXCheckpoint {
        try load(from: ModelLocator.resolve(location), hashContent: hashContent)
    }

    /// Where each needed tensor comes from.
    struct PlannedTensor {
        var sourceIndex: Int
        var storedName: String
    }

    /// Sanitizes names, then checks the stored tensors against the config without reading data.
    static func planLoad(
        config: NeoXConfig, tied: Bool, sources: [WeightSource], layout: WeightFileLayout
    ) throws -> [String: PlannedTensor] {
        let expected = NeoXTensorName.expectedShapes(config, includeEmbedOut: !tied)
        var plan: [String: PlannedTensor] = [:]
        for (index, source) in sources.enumerated() {
            for stored in source.storedTensors {
                if NeoXTensorName.isLegacyBuffer(stored.name) { continue }
                if let map = layout.index?.weightMap, map[stored.name] != source.path.lastPathComponent {
                    throw CheckpointError.indexInvalid(
                        file: layout.index?.file.path ?? "",
                        reason: "tensor '\(stored.name)' is in \(source.path) but weight_map says \(map[stored.name].map { "'\($0)'" } ?? "nothing")")
                }
                let canonical = stored.name == NeoXTensorName.lmHead ? NeoXTensorName.embedOut : stored.name
                // tie_word_embeddings: transformers overwrites the output matrix with embed_in.
                if tied, canonical == NeoXTensorName.embedOut { continue }
                guard let shape = expected[canonical] else {
                    throw CheckpointError.unexpectedTensor(file: source.path, tensor: stored.name)
                }
                if let previous = plan[canonical] {
                    throw CheckpointError.duplicateTensor(
                        tensor: canonical,
                        files: ["\(sources[previous.sourceIndex].path) as '\(previous.storedName)'",
                                "\(source.path) as '\(stored.name)'"])
                }
                guard stored.shape == shape else {
                    throw CheckpointError.shapeMismatch(file: source.path, tensor: stored.name, expected: shape, found: stored.shape)
                }
                guard stored.type.isWeightType else {
                    throw CheckpointError.unsupportedDType(file: source.path, tensor: stored.name, dtype: stored.type.rawValue)
                }
                plan[canonical] = PlannedTensor(sourceIndex: index, storedName: stored.name)
            }
        }
        if let map = layout.index?.weightMap {
            let stored = Set(sources.flatMap { $0.storedTensors.map(\.name) })
            if let listed = map.keys.sorted().first(where: { !stored.contains($0) }) {
                throw CheckpointError.indexInvalid(
                    file: layout.index?.file.path ?? "", reason: "weight_map lists '\(listed)' but shard '\(map[listed] ?? "")' does not hold it")
            }
        }
        if let missing = expected.keys.sorted().first(where: { plan[$0] == nil }) {
            throw CheckpointError.missingTensor(tensor: missing, searched: sources.map(\.path))
        }
        return plan
    }

    /// Moves the converted tensors into `NeoXWeights` (each tensor is held once).
    static func assemble(config: NeoXConfig, tensors: inout [String: Tensor]) throws -> NeoXWeights {
        func take(_ name: String) throws -> Tensor {
            guard let tensor = tensors.removeValue(forKey: name) else {
                throw CheckpointError.missingTensor(tensor: name, searched: [])
            }
            return tensor
        }
        var layers: [NeoXLayerWeights] = []
        layers.reserveCapacity(config.numLayers)
        for l in 0..<config.numLayers {
            func part(_ part: NeoXTensorName.LayerPart) throws -> Tensor { try take(NeoXTensorName.layer(l, part)) }
            layers.append(NeoXLayerWeights(
                inputLayerNormWeight: try part(.inputLayerNormWeight),
                inputLayerNormBias: try part(.inputLayerNormBias),
                postAttentionLayerNormWeight: try part(.postAttentionLayerNormWeight),
                postAttentionLayerNormBias: try part(.postAttentionLayerNormBias),
                qkvWeight: try part(.qkvWeight), qkvBias: try part(.qkvBias),
                denseWeight: try part(.denseWeight), denseBias: try part(.denseBias),
                mlpInWeight: try part(.mlpInWeight), mlpInBias: try part(.mlpInBias),
                mlpOutWeight: try part(.mlpOutWeight), mlpOutBias: try part(.mlpOutBias)))
        }
        return NeoXWeights(
            embedIn: try take(NeoXTensorName.embedIn), layers: layers,
            finalLayerNormWeight: try take(NeoXTensorName.finalLayerNormWeight),
            finalLayerNormBias: try take(NeoXTensorName.finalLayerNormBias),
            embedOut: try take(NeoXTensorName.embedOut))
    }
}

extension String {
    /// The last path component of a file path.
    var lastPathComponent: String { (self as NSString).lastPathComponent }
}
