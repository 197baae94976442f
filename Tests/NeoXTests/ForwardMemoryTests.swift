import Foundation
@testable import NeoX
import Tensor
import Testing

/// Memory of a forward on a Pythia-70m-shaped model with random weights, batch 8 × 16.
@Suite(.serialized) struct ForwardMemoryTests {
    /// The resident-memory peak of the forward pass (model buffers + activations + full logits
    /// [8, 16, 50304]) stays ≤ 1.5 × the float32 weight size. Measured with Linux `VmHWM` after a
    /// reset, relative to the RSS before the model was built (other tests run in the same process).
    @available(*, noasync)
    @Test func pythia70mForwardPeakIsBounded() throws {
        try #require(ProcessMemory.currentResidentBytes() != nil, "needs /proc (Linux)")
        let config = PythiaShape.pythia70m.config
        let weightBytes = ForwardBenchmark.parameterCount(config) * 4
        #expect(ForwardBenchmark.parameterCount(config) == 70_426_624)
        let baseline = try #require(ProcessMemory.currentResidentBytes())
        let model = NeoXModel.random(shape: .pythia70m)
        try #require(ProcessMemory.resetPeakResident(), "cannot reset VmHWM")
        try runBatch8x16(model, seed: 7)
        let peak = try #require(ProcessMemory.peakResidentSinceReset())
        let ratio = Double(peak - baseline) / Double(weightBytes)
        print("pythia-70m forward: peak RSS above baseline \((peak - baseline) >> 20) MiB = \(ratio)× fp32 weights (\(weightBytes >> 20) MiB)")
        #expect(ratio <= 1.5, "forward peak \(peak - baseline) bytes vs weights \(weightBytes)")
    }

    /// Loading a Pythia-70m-shaped Float32 safetensors checkpoint, moving it into the model and
    /// running a batch 8 × 16 forward never holds two copies of the weights: the peak RSS from
    /// just before `NeoXCheckpoint.load` to the end of the forward stays ≤ 1.5 × the float32
    /// weight size above the RSS before loading.
    @available(*, noasync)
    @Test func pythia70mLoadBuildForwardPeakIsBounded() throws {
        try #require(ProcessMemory.currentResidentBytes() != nil, "needs /proc (Linux)")
        let config = PythiaShape.pythia70m.config
        let weightBytes = ForwardBenchmark.parameterCount(config) * 4
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("neox-memory-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            var writer = SafetensorsWriter()
            for (name, tensor) in NeoXWeights.random(config: config).namedTensors() { try writer.add(name, tensor, as: .f32) }
            try writer.write(to: directory.appendingPathComponent("model.safetensors"))
            try config.hfConfigJSON().write(to: directory.appendingPathComponent("config.json"))
        }
        let baseline = try #require(ProcessMemory.currentResidentBytes())
        try #require(ProcessMemory.resetPeakResident(), "cannot reset VmHWM")

        let checkpoint = try NeoXCheckpoint.load(from: directory, hashContent: false)
        let model = try NeoXModel(checkpoint: consume checkpoint)
        try runBatch8x16(model, seed: 11)
        let peak = try #require(ProcessMemory.peakResidentSinceReset())
        let ratio = Double(peak - baseline) / Double(weightBytes)
        print("pythia-70m load + build + forward: peak RSS above baseline \((peak - baseline) >> 20) MiB = \(ratio)× fp32 weights (\(weightBytes >> 20) MiB); absolute peak \(peak >> 20) MiB")
        #expect(ratio <= 1.5, "load + build + forward peak \(peak - baseline) bytes vs weights \(weightBytes)")
    }

    /// A batch-8 × 16-token forward on seeded random ids; checks the logits' shape and finiteness.
    @available(*, noasync)
    private func runBatch8x16(_ model: NeoXModel, seed: UInt64) throws {
        var state = seed
        let ids = (0..<8).map { _ in
            (0..<16).map { _ -> Int in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int(state >> 33) % model.vocabSize
            }
        }
        let logits = try model.logits(inputIds: ids)
        #expect(logits.shape == [8, 16, 50304])
        #expect(logits.storage.allSatisfy { $0.isFinite })
    }
}
