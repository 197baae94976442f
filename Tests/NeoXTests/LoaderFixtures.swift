import Foundation
@testable import NeoX
import Tensor

/// Paths of the shared fixtures (Tests/Fixtures, see its README).
enum LoaderFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func model(_ name: String) -> URL {
        root.appendingPathComponent("models").appendingPathComponent(name)
    }

    static func forward(_ name: String) -> URL {
        root.appendingPathComponent("forward").appendingPathComponent("\(name).safetensors")
    }

    /// Every tensor of a loaded checkpoint by its HF name, for comparisons.
    static func namedTensors(_ weights: NeoXWeights) -> [String: Tensor] {
        var out: [String: Tensor] = [
            NeoXTensorName.embedIn: weights.embedIn,
            NeoXTensorName.finalLayerNormWeight: weights.finalLayerNormWeight,
            NeoXTensorName.finalLayerNormBias: weights.finalLayerNormBias,
            NeoXTensorName.embedOut: weights.embedOut,
        ]
        for (l, layer) in weights.layers.enumerated() {
            let parts: [(NeoXTensorName.LayerPart, Tensor)] = [
                (.inputLayerNormWeight, layer.inputLayerNormWeight), (.inputLayerNormBias, layer.inputLayerNormBias),
                (.postAttentionLayerNormWeight, layer.postAttentionLayerNormWeight),
                (.postAttentionLayerNormBias, layer.postAttentionLayerNormBias),
                (.qkvWeight, layer.qkvWeight), (.qkvBias, layer.qkvBias),
                (.denseWeight, layer.denseWeight), (.denseBias, layer.denseBias),
                (.mlpInWeight, layer.mlpInWeight), (.mlpInBias, layer.mlpInBias),
                (.mlpOutWeight, layer.mlpOutWeight), (.mlpOutBias, layer.mlpOutBias),
            ]
            for (part, tensor) in parts { out[NeoXTensorName.layer(l, part)] = tensor }
        }
        return out
    }

    /// A fresh temporary folder; the caller removes it.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("neox-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
