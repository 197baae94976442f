import Foundation
@testable import NeoX
import Tensor
import Testing

/// Every fixture model folder loads, and gives the neox-tiny tensors (fp16/bf16: their rounded values).
@Suite struct LoaderTests {
    /// neox-tiny's own tensors, read straight from its safetensors file.
    static func referenceTensors() throws -> [String: Tensor] {
        let file = try SafetensorsFile(url: LoaderFixtures.model("neox-tiny").appendingPathComponent("model.safetensors"))
        var out: [String: Tensor] = [:]
        for name in file.names { out[name] = try file.floatTensor(name) }
        return out
    }

    @Test func configDecodesBothStyles() throws {
        let modern = try NeoXConfig(contentsOf: LoaderFixtures.model("neox-tiny").appendingPathComponent("config.json"))
        let legacy = try NeoXConfig(contentsOf: LoaderFixtures.model("neox-tiny-legacy").appendingPathComponent("config.json"))
        #expect(modern.vocabSize == 96 && modern.hiddenSize == 32 && modern.numLayers == 2)
        #expect(modern.numHeads == 4 && modern.intermediateSize == 128 && modern.rotaryDims == 2)
        #expect(modern.rotaryBase == 10000 && modern.layerNormEps == 1e-5 && modern.useParallelResidual)
        #expect(modern.maxPositionEmbeddings == 64 && modern.declaredDType == "float32" && modern.hiddenAct == "gelu")
        #expect(modern == legacy)
        let seq = try NeoXConfig(contentsOf: LoaderFixtures.model("neox-small-seq").appendingPathComponent("config.json"))
        #expect(seq.rotaryDims == 8 && seq.rotaryPct == 0.5 && !seq.useParallelResidual && seq.vocabSize == 257)
        let half = try NeoXConfig(contentsOf: LoaderFixtures.model("neox-tiny-bf16").appendingPathComponent("config.json"))
        #expect(half.declaredDType == "bfloat16")
    }

    @Test(arguments: ["neox-tiny", "neox-tiny-sharded", "neox-tiny-legacy", "neox-tiny-bin"])
    func exactVariantsLoadTinyTensors(folder: String) throws {
        let checkpoint = try NeoXCheckpoint.load(from: LoaderFixtures.model(folder))
        let loaded = LoaderFixtures.namedTensors(checkpoint.weights)
        let reference = try Self.referenceTensors()
        #expect(reference.count == 28)
        #expect(Set(loaded.keys) == Set(reference.keys))
        for (name, tensor) in reference { #expect(loaded[name] == tensor, "\(folder): \(name)") }
        #expect(checkpoint.config.numLayers == 2 && checkpoint.weights.layers.count == 2)
        #expect(checkpoint.contentHash.count == 64)
    }

    /// fp16/bf16 folders give exactly the stored values, decoded here independently from the raw
    /// file bytes, and stay within the README's rounding bound of the fp32 tensors.
    @Test(arguments: [("neox-tiny-fp16", "F16", Float(4.9e-4)), ("neox-tiny-bf16", "BF16", Float(4e-3))])
    func halfVariantsLoadStoredValues(folder: String, dtype: String, bound: Float) throws {
        let checkpoint = try NeoXCheckpoint.load(from: LoaderFixtures.model(folder))
        let loaded = LoaderFixtures.namedTensors(checkpoint.weights)
        let raw = try RawSafetensors(url: LoaderFixtures.model(folder).appendingPathComponent("model.safetensors"))
        let reference = try Self.referenceTensors()
        #expect(raw.header.keys.filter { $0 != "__metadata__" }.count == 28)
        for (name, tensor) in reference {
            let entry = try raw.entry(name)
            #expect(entry["dtype"] as? String == dtype)
            let offsets = try #require(entry["data_offsets"] as? [Int])
            let bits = raw.payload.subdata(in: offsets[0]..<offsets[1]).withUnsafeBytes { buffer in
                (0..<(buffer.count / 2)).map { UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
            }
            let expected: [Float] = bits.map { dtype == "F16" ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) }
            let got = try #require(loaded[name])
            #expect(got.shape == tensor.shape)
            #expect(Array(got.storage) == expected, "\(folder): \(name)")
            let maxDelta = zip(got.storage, tensor.storage).map { abs($0 - $1) }.max() ?? 0
            #expect(maxDelta <= bound, "\(name): \(maxDelta)")
        }
    }

    @Test func smallSeqLoads() throws {
        let checkpoint = try NeoXCheckpoint.load(from: LoaderFixtures.model("neox-small-seq"))
        let file = try SafetensorsFile(url: LoaderFixtures.model("neox-small-seq").appendingPathComponent("model.safetensors"))
        let loaded = LoaderFixtures.namedTensors(checkpoint.weights)
        #expect(loaded.count == 40 && file.names.count == 40)
        for name in file.names { #expect(loaded[name] == (try file.floatTensor(name)), "\(name)") }
    }

    /// The transformers-5 in-memory name `lm_head.weight` is accepted for `embed_out.weight`.
    @Test func lmHeadNameIsAccepted() throws {
        let (root, model) = try LoaderFixtures.copyModel("neox-tiny")
        defer { try? FileManager.default.removeItem(at: root) }
        let file = model.appendingPathComponent("model.safetensors")
        var raw = try RawSafetensors(url: file)
        try raw.rename("embed_out.weight", to: "lm_head.weight")
        try raw.write(to: file)
        let checkpoint = try NeoXCheckpoint.load(from: model)
        let reference = try Self.referenceTensors()
        for (name, tensor) in reference { #expect(LoaderFixtures.namedTensors(checkpoint.weights)[name] == tensor, "\(name)") }
    }

    @Test func contentHashIdentifiesWeightBytes() throws {
        let tiny = try NeoXCheckpoint.load(from: LoaderFixtures.model("neox-tiny"))
        #expect(tiny.contentHash == (try ContentHash.sha256(ofFile: LoaderFixtures.model("neox-tiny").appendingPathComponent("model.safetensors"))))
        // Same bytes under another folder: same hash; different encodings of the same values: different.
        let (root, copy) = try LoaderFixtures.copyModel("neox-tiny")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try NeoXCheckpoint.load(from: copy).contentHash == tiny.contentHash)
        let sharded = try NeoXCheckpoint.load(from: LoaderFixtures.model("neox-tiny-sharded"))
        #expect(sharded.contentHash != tiny.contentHash && sharded.contentHash.count == 64)
        #expect(sharded.weightFiles.map(\.lastPathComponent) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        // Known vector: SHA-256("abc").
        let abc = root.appendingPathComponent("abc")
        try Data("abc".utf8).write(to: abc)
        #expect(try ContentHash.sha256(ofFile: abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func halfConversionIsExactForEveryBitPattern() {
        for bits in 0...UInt16.max {
            let ours = ElementDecoding.float(fromHalfBits: bits)
            let reference = Float(Float16(bitPattern: bits))
            #expect(ours.bitPattern == reference.bitPattern || (ours.isNaN && reference.isNaN), "0x\(String(bits, radix: 16))")
        }
    }

    @Test func safetensorsWriterRoundTrips() throws {
        let root = try LoaderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        var writer = SafetensorsWriter()
        let logits = try Tensor(shape: [2, 3, 4], elements: (0..<24).map { Float($0) * 0.5 - 3 })
        try writer.add("logits", logits)
        try writer.add("ids", type: .i64, shape: [2], bytes: Data([7, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]))
        writer.metadata = ["format": "pt"]
        let url = root.appendingPathComponent("out.safetensors")
        try writer.write(to: url)
        let file = try SafetensorsFile(url: url)
        #expect(try file.floatTensor("logits") == logits)
        #expect(try file.integers("ids") == [7, -1])
        #expect(file.metadata == ["format": "pt"])
        #expect(throws: CheckpointError.self) { try writer.add("logits", logits) }
    }
}

extension LoaderTests {
    /// The writer's F16/BF16 rounding is round-to-nearest-even, and reloads exactly.
    @Test func sixteenBitEncodingRoundsToNearestEven() throws {
        var generator = SplitMix64(seed: 7)
        var values: [Float] = [0, -0, 1, -1, 65504, 65520, 1e-8, 6e-8, 3e-5, -2.5e-6, .infinity, -.infinity, 1e10, .leastNonzeroMagnitude]
        for _ in 0..<20000 {
            values.append(Float(bitPattern: UInt32(truncatingIfNeeded: generator.next())))
        }
        for value in values where !value.isNaN {
            #expect(ElementEncoding.halfBits(value) == Float16(value).bitPattern, "\(value)")
            let bf = ElementDecoding.float(fromBFloat16Bits: ElementEncoding.bfloat16Bits(value))
            let up = Float(bitPattern: (value.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
            let down = Float(bitPattern: value.bitPattern & 0xFFFF_0000)
            #expect(bf == up || bf == down || (value.isInfinite && bf == value), "\(value)")
            if value.isFinite, bf.isFinite { #expect(abs(bf - value) <= max(abs(up - value), abs(down - value))) }
        }
        #expect(ElementDecoding.float(fromBFloat16Bits: ElementEncoding.bfloat16Bits(.nan)).isNaN)
        // A written F16 checkpoint loads back to exactly the rounded values.
        let root = try LoaderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let reference = try NeoXCheckpoint.load(from: LoaderFixtures.model("neox-tiny"))
        var writer = SafetensorsWriter()
        for (name, tensor) in reference.weights.namedTensors() { try writer.add(name, tensor, as: .f16) }
        try writer.write(to: root.appendingPathComponent("model.safetensors"))
        try reference.config.hfConfigJSON().write(to: root.appendingPathComponent("config.json"))
        let reloaded = try NeoXCheckpoint.load(from: root)
        #expect(reloaded.config == reference.config)
        let fixture16 = try NeoXCheckpoint.load(from: LoaderFixtures.model("neox-tiny-fp16"))
        let ours = reloaded.weights.namedTensors(), theirs = fixture16.weights.namedTensors()
        #expect(ours.map(\.name) == theirs.map(\.name))
        for (a, b) in zip(ours, theirs) { #expect(a.tensor == b.tensor, "\(a.name)") }
    }
}

extension LoaderTests {
    /// `tie_word_embeddings: true` without an output matrix: embed_out is embed_in (shared storage).
    @Test func tiedEmbeddingsShareEmbedIn() throws {
        let (root, model) = try LoaderFixtures.copyModel("neox-tiny")
        defer { try? FileManager.default.removeItem(at: root) }
        let file = model.appendingPathComponent("model.safetensors")
        var raw = try RawSafetensors(url: file)
        raw.header["embed_out.weight"] = nil
        try raw.write(to: file)
        #expect(throws: CheckpointError.self) { _ = try NeoXCheckpoint.load(from: model) }
        let configURL = model.appendingPathComponent("config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        json["tie_word_embeddings"] = true
        try JSONSerialization.data(withJSONObject: json).write(to: configURL)
        let checkpoint = try NeoXCheckpoint.load(from: model)
        #expect(checkpoint.weights.embedOut == checkpoint.weights.embedIn)
        #expect(checkpoint.weights.embedIn == (try Self.referenceTensors())["gpt_neox.embed_in.weight"])
    }
}
