import Foundation
@testable import NeoX
import Tensor
import Testing

/// Bad checkpoints give a clear `CheckpointError` naming the file and tensor, never a crash.
@Suite struct LoaderErrorTests {
    /// Copies neox-tiny, lets `edit` change its safetensors header, and returns the load error.
    func loadError(
        editing edit: (inout RawSafetensors) throws -> Void, config: ((inout [String: Any]) -> Void)? = nil
    ) throws -> (error: CheckpointError?, file: String) {
        let (root, model) = try LoaderFixtures.copyModel("neox-tiny")
        defer { try? FileManager.default.removeItem(at: root) }
        let file = model.appendingPathComponent("model.safetensors")
        var raw = try RawSafetensors(url: file)
        try edit(&raw)
        try raw.write(to: file)
        if let config {
            let configURL = model.appendingPathComponent("config.json")
            var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
            config(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: configURL)
        }
        let error = LoaderFixtures.error(CheckpointError.self) { _ = try NeoXCheckpoint.load(from: model) }
        return (error, file.path)
    }

    @Test func missingTensor() throws {
        let (error, file) = try loadError { $0.header["gpt_neox.layers.1.mlp.dense_4h_to_h.bias"] = nil }
        #expect(error == .missingTensor(tensor: "gpt_neox.layers.1.mlp.dense_4h_to_h.bias", searched: [file]))
        #expect(error?.description.contains("gpt_neox.layers.1.mlp.dense_4h_to_h.bias") == true)
        #expect(error?.description.contains(file) == true)
    }

    @Test func extraTensor() throws {
        let (error, file) = try loadError { raw in
            let end = raw.payload.count
            raw.payload.append(Data(count: 8))
            raw.header["gpt_neox.layers.0.attention.extra"] = ["dtype": "F32", "shape": [2], "data_offsets": [end, end + 8]]
        }
        #expect(error == .unexpectedTensor(file: file, tensor: "gpt_neox.layers.0.attention.extra"))
    }

    @Test func wrongShape() throws {
        let (error, file) = try loadError { try $0.set("gpt_neox.layers.0.attention.dense.weight", "shape", [16, 64]) }
        #expect(error == .shapeMismatch(file: file, tensor: "gpt_neox.layers.0.attention.dense.weight", expected: [32, 32], found: [16, 64]))
        #expect(error?.description.contains("config.json implies [32, 32]") == true)
    }

    @Test func configWithMoreLayersThanWeights() throws {
        let (error, file) = try loadError(editing: { _ in }, config: { $0["num_hidden_layers"] = 3 })
        #expect(error == .missingTensor(tensor: "gpt_neox.layers.2.attention.dense.bias", searched: [file]))
    }

    @Test func configWithFewerLayersThanWeights() throws {
        let (error, file) = try loadError(editing: { _ in }, config: { $0["num_hidden_layers"] = 1 })
        guard case let .unexpectedTensor(errorFile, tensor) = error else {
            Issue.record("expected unexpectedTensor, got \(String(describing: error))")
            return
        }
        #expect(errorFile == file && tensor.hasPrefix("gpt_neox.layers.1."))
    }

    @Test func configWithOtherWidth() throws {
        let (error, _) = try loadError(editing: { _ in }, config: { $0["vocab_size"] = 100 })
        guard case let .shapeMismatch(_, tensor, expected, found) = error else {
            Issue.record("expected shapeMismatch, got \(String(describing: error))")
            return
        }
        #expect(["gpt_neox.embed_in.weight", "embed_out.weight"].contains(tensor) && expected == [100, 32] && found == [96, 32])
    }

    @Test func unknownDType() throws {
        let (error, file) = try loadError { try $0.set("gpt_neox.final_layer_norm.bias", "dtype", "F7") }
        #expect(error == .unknownDType(file: file, tensor: "gpt_neox.final_layer_norm.bias", dtype: "F7"))
    }

    @Test func integerWeightsAreRefused() throws {
        let (error, file) = try loadError { try $0.set("gpt_neox.final_layer_norm.bias", "dtype", "I32") }
        #expect(error == .unsupportedDType(file: file, tensor: "gpt_neox.final_layer_norm.bias", dtype: "I32"))
    }

    @Test func overlappingOffsets() throws {
        let (error, file) = try loadError { raw in
            let embed = try #require(try raw.entry("gpt_neox.embed_in.weight")["data_offsets"] as? [Int])
            try raw.set("gpt_neox.final_layer_norm.bias", "data_offsets", [embed[0] + 4, embed[0] + 4 + 128])
        }
        guard case let .tensorInvalid(errorFile, _, reason) = error else {
            Issue.record("expected tensorInvalid, got \(String(describing: error))")
            return
        }
        #expect(errorFile == file && reason.contains("overlap"))
    }

    @Test func byteLengthDisagreesWithShape() throws {
        let (error, file) = try loadError { try $0.set("gpt_neox.final_layer_norm.bias", "shape", [31]) }
        guard case let .tensorInvalid(errorFile, tensor, reason) = error else {
            Issue.record("expected tensorInvalid, got \(String(describing: error))")
            return
        }
        #expect(errorFile == file && tensor == "gpt_neox.final_layer_norm.bias" && reason.contains("124 bytes"))
    }

    @Test func truncatedFiles() throws {
        let root = try LoaderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let original = try Data(contentsOf: LoaderFixtures.model("neox-tiny").appendingPathComponent("model.safetensors"))
        let headerLength = original.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        // Cut inside the data, inside the JSON, inside the length prefix, and an empty file.
        for length in [original.count - 1, original.count / 2, 8 + headerLength / 2, 5, 0] {
            let url = root.appendingPathComponent("cut-\(length).safetensors")
            try original.prefix(length).write(to: url)
            let error = LoaderFixtures.error(CheckpointError.self) { _ = try SafetensorsFile(url: url) }
            switch error {
            case let .safetensorsInvalid(file, _), let .tensorInvalid(file, _, _):
                #expect(file == url.path)
            default:
                Issue.record("cut at \(length): \(String(describing: error))")
            }
        }
        var huge = original
        huge.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        let url = root.appendingPathComponent("huge.safetensors")
        try huge.write(to: url)
        #expect(throws: CheckpointError.self) { _ = try SafetensorsFile(url: url) }
    }

    @Test func malformedHeaderJSON() throws {
        let root = try LoaderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        for json in [#"{"a": {"dtype": "F32", "shape": [1]}}"#, #"{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#,
                     #"[1, 2]"#, #"{"a": "#, #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#,
                     #"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#] {
            var data = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(Data(json.utf8))
            data.append(Data(count: 4))
            let url = root.appendingPathComponent("bad.safetensors")
            try data.write(to: url)
            let error = LoaderFixtures.error(CheckpointError.self) { _ = try SafetensorsFile(url: url) }
            #expect(error != nil, "\(json)")
            #expect(error?.description.contains(url.path) == true)
        }
    }

    @Test func bothOutputNamesAreADuplicate() throws {
        let (error, _) = try loadError { raw in
            let end = raw.payload.count
            raw.payload.append(Data(count: 96 * 32 * 4))
            raw.header["lm_head.weight"] = ["dtype": "F32", "shape": [96, 32], "data_offsets": [end, end + 96 * 32 * 4]]
        }
        guard case let .duplicateTensor(tensor, _) = error else {
            Issue.record("expected duplicateTensor, got \(String(describing: error))")
            return
        }
        #expect(tensor == "embed_out.weight")
    }

    @Test(arguments: [
        ("hidden_size", "30", "not divisible"), ("hidden_act", #""gelu_new""#, "gelu"), ("vocab_size", "0", "positive"),
        ("num_attention_heads", "-4", "positive"), ("model_type", #""llama""#, "gpt_neox"), ("rotary_pct", "0.75", "legacy"),
        ("vocab_size", #""96""#, "vocab_size"), ("attention_bias", "false", "attention_bias"),
    ])
    func invalidConfigs(key: String, valueJSON: String, message: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(valueJSON.utf8), options: .fragmentsAllowed)
        var json = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: LoaderFixtures.model("neox-tiny").appendingPathComponent("config.json"))) as? [String: Any])
        json[key] = value
        let data = try JSONSerialization.data(withJSONObject: json)
        let error = LoaderFixtures.error(CheckpointError.self) { _ = try NeoXConfig(hfConfigJSON: data, file: "x/config.json") }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
        #expect(error?.description.contains("x/config.json") == true)
    }

    @Test func shardIndexMustAgreeWithShards() throws {
        let (root, model) = try LoaderFixtures.copyModel("neox-tiny-sharded")
        defer { try? FileManager.default.removeItem(at: root) }
        let index = model.appendingPathComponent("model.safetensors.index.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: index)) as? [String: Any])
        var map = try #require(json["weight_map"] as? [String: String])
        map["embed_out.weight"] = "model-00001-of-00002.safetensors"
        json["weight_map"] = map
        try JSONSerialization.data(withJSONObject: json).write(to: index)
        let error = LoaderFixtures.error(CheckpointError.self) { _ = try NeoXCheckpoint.load(from: model) }
        guard case let .indexInvalid(file, reason) = error else {
            Issue.record("expected indexInvalid, got \(String(describing: error))")
            return
        }
        #expect(file == index.path && reason.contains("embed_out.weight"))

        map["embed_out.weight"] = "../elsewhere.safetensors"
        json["weight_map"] = map
        try JSONSerialization.data(withJSONObject: json).write(to: index)
        #expect(throws: CheckpointError.self) { _ = try NeoXCheckpoint.load(from: model) }
    }

    @Test func folderWithoutWeights() throws {
        let root = try LoaderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(at: LoaderFixtures.model("neox-tiny").appendingPathComponent("config.json"),
                                         to: root.appendingPathComponent("config.json"))
        let error = LoaderFixtures.error(CheckpointError.self) { _ = try NeoXCheckpoint.load(from: root) }
        #expect(error == .noWeights(directory: root.path, found: ["config.json"]))
        try FileManager.default.removeItem(at: root.appendingPathComponent("config.json"))
        guard case .unreadable? = LoaderFixtures.error(CheckpointError.self, { _ = try NeoXCheckpoint.load(from: root) }) else {
            Issue.record("missing config.json must be an unreadable error")
            return
        }
    }
}
