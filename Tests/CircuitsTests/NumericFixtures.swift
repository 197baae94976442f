import Foundation
import NeoX
import Tensor

/// Test-only access to the numeric fixtures: a minimal safetensors reader for the F32/F64/I64/U8
/// fixture files and a model builder for the fixture folders (F32 `model.safetensors` +
/// transformers-5 `config.json`). Production loading is `NeoX`'s loader (branch `loaders`).
enum NumericFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Entry { let dtype: String; let shape: [Int]; let bytes: Data }

    struct FixtureError: Error, CustomStringConvertible { let description: String }

    static func safetensors(_ relative: String) throws -> [String: Entry] {
        let data = try Data(contentsOf: root.appendingPathComponent(relative))
        guard data.count >= 8 else { throw FixtureError(description: "\(relative): too short") }
        let n = data.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
        guard 8 + n <= data.count,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any]
        else { throw FixtureError(description: "\(relative): bad header") }
        var out: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int]
            else { throw FixtureError(description: "\(relative): bad entry \(name)") }
            out[name] = Entry(dtype: dtype, shape: shape, bytes: data.subdata(in: (8 + n + offsets[0])..<(8 + n + offsets[1])))
        }
        return out
    }

    static func floats(_ e: Entry) -> [Float] {
        e.bytes.withUnsafeBytes { raw in
            switch e.dtype {
            case "F64": return (0..<(raw.count / 8)).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
            case "U8", "BOOL": return raw.map { Float($0) }
            default: return (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            }
        }
    }

    static func doubles(_ e: Entry) -> [Double] {
        e.bytes.withUnsafeBytes { raw in (0..<(raw.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
    }

    static func ints(_ e: Entry) -> [Int] {
        e.bytes.withUnsafeBytes { raw in (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
    }

    static func tensor(_ e: Entry) throws -> Tensor { try Tensor(shape: e.shape, elements: floats(e)) }

    /// Builds a model from an F32/F16/BF16 fixture folder under `models/`.
    static func model(_ name: String) throws -> NeoXModel {
        let folder = "models/\(name)/"
        let configData = try Data(contentsOf: root.appendingPathComponent(folder + "config.json"))
        guard let c = try JSONSerialization.jsonObject(with: configData) as? [String: Any],
              let rope = c["rope_parameters"] as? [String: Any] else { throw FixtureError(description: "config") }
        func int(_ k: String) -> Int { (c[k] as? Int) ?? 0 }
        let config = NeoXConfig(
            vocabSize: int("vocab_size"), hiddenSize: int("hidden_size"), numLayers: int("num_hidden_layers"),
            numHeads: int("num_attention_heads"), intermediateSize: int("intermediate_size"),
            layerNormEps: Float((c["layer_norm_eps"] as? Double) ?? 1e-5),
            rotaryPct: (rope["partial_rotary_factor"] as? Double) ?? 0.25,
            rotaryBase: (rope["rope_theta"] as? Double) ?? 10000,
            useParallelResidual: (c["use_parallel_residual"] as? Bool) ?? true,
            maxPositionEmbeddings: int("max_position_embeddings"))
        let t = try safetensors(folder + "model.safetensors")
        func w(_ name: String) throws -> Tensor {
            guard let e = t[name] else { throw FixtureError(description: "missing \(name)") }
            switch e.dtype {
            case "F16":
                let v = e.bytes.withUnsafeBytes { raw in (0..<(raw.count / 2)).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) } }
                return try Tensor(shape: e.shape, elements: v)
            case "BF16":
                let v = e.bytes.withUnsafeBytes { raw in (0..<(raw.count / 2)).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) } }
                return try Tensor(shape: e.shape, elements: v)
            default: return try tensor(e)
            }
        }
        let layers = try (0..<config.numLayers).map { l in
            let p = "gpt_neox.layers.\(l)."
            return NeoXLayerWeights(
                inputLayerNormWeight: try w(p + "input_layernorm.weight"), inputLayerNormBias: try w(p + "input_layernorm.bias"),
                postAttentionLayerNormWeight: try w(p + "post_attention_layernorm.weight"),
                postAttentionLayerNormBias: try w(p + "post_attention_layernorm.bias"),
                qkvWeight: try w(p + "attention.query_key_value.weight"), qkvBias: try w(p + "attention.query_key_value.bias"),
                denseWeight: try w(p + "attention.dense.weight"), denseBias: try w(p + "attention.dense.bias"),
                mlpInWeight: try w(p + "mlp.dense_h_to_4h.weight"), mlpInBias: try w(p + "mlp.dense_h_to_4h.bias"),
                mlpOutWeight: try w(p + "mlp.dense_4h_to_h.weight"), mlpOutBias: try w(p + "mlp.dense_4h_to_h.bias"))
        }
        let weights = NeoXWeights(
            embedIn: try w("gpt_neox.embed_in.weight"), layers: layers,
            finalLayerNormWeight: try w("gpt_neox.final_layer_norm.weight"),
            finalLayerNormBias: try w("gpt_neox.final_layer_norm.bias"), embedOut: try w("embed_out.weight"))
        return try NeoXModel(config: config, weights: weights)
    }
}
