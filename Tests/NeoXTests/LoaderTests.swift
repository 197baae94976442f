import Foundation
@testable import NeoX
import Tensor
import Testing

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
        #expect(modern.maxPositionEmbeddings == 64 && modern.declaredDType == "float32")
        #expect(modern == legacy)
        let seq = try NeoXConfig(contentsOf: LoaderFixtures.model("neox-small-seq").appendingPathComponent("config.json"))
        #expect(seq.rotaryDims == 8 && !seq.useParallelResidual && seq.vocabSize == 257)
    }

    @Test(arguments: ["neox-tiny", "neox-tiny-sharded", "neox-tiny-legacy"])
    func exactVariantsLoadTinyTensors(folder: String) throws {
        let checkpoint = try NeoXCheckpoint.load(from: LoaderFixtures.model(folder))
        let loaded = LoaderFixtures.namedTensors(checkpoint.weights)
        let reference = try Self.referenceTensors()
        #expect(loaded.count == 28)
        #expect(Set(loaded.keys) == Set(reference.keys))
        for (name, tensor) in reference { #expect(loaded[name] == tensor, "\(name)") }
    }
}

extension LoaderTests {
    @Test func binLoadsTinyTensors() throws {
        let checkpoint = try NeoXCheckpoint.load(from: LoaderFixtures.model("neox-tiny-bin"))
        let loaded = LoaderFixtures.namedTensors(checkpoint.weights)
        for (name, tensor) in try Self.referenceTensors() { #expect(loaded[name] == tensor, "\(name)") }
    }
}
