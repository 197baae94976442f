import Foundation
import Tensor

/// `circuitsweep bench load`: writes random weights of a Pythia shape as one safetensors file,
/// then times `NeoXCheckpoint.load` on it (up-cast, validation) and the content hash separately.
public enum LoadBenchmark {
    public struct Result: Sendable {
        public var shape: PythiaShape
        public var type: ElementType
        public var fileBytes: Int
        public var weightBytes: Int
        public var loadSeconds: Double
        public var hashSeconds: Double
        /// RSS growth over the load's peak (Linux `VmHWM` reset before loading), if measurable.
        public var loadPeakAboveBaselineBytes: Int?
    }

    /// - Parameters:
    ///   - directory: an empty scratch folder; the caller removes it.
    /// - Throws: `CheckpointError` if writing or loading fails.
    @available(*, noasync, message: "blocking I/O and numeric work; run it off the cooperative pool")
    public static func run(shape: PythiaShape, type: ElementType, directory: URL) throws -> Result {
        var config = shape.config
        config.declaredDType = switch type {
        case .f16: "float16"
        case .bf16: "bfloat16"
        default: "float32"
        }
        let weightFile = directory.appendingPathComponent(WeightFileLayout.safetensorsSingle)
        do {
            var writer = SafetensorsWriter()
            for (name, tensor) in NeoXWeights.random(config: config).namedTensors() { try writer.add(name, tensor, as: type) }
            try writer.write(to: weightFile)
            try config.hfConfigJSON().write(to: directory.appendingPathComponent("config.json"))
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.unwritable(file: directory.path, reason: "\(error)")
        }
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: weightFile.path)[.size] as? Int) ?? 0
        let baseline = ProcessMemory.currentResidentBytes()
        let canReset = ProcessMemory.resetPeakResident()
        let start = DispatchTime.now().uptimeNanoseconds
        let checkpoint = try NeoXCheckpoint.load(from: directory, hashContent: false)
        let loaded = DispatchTime.now().uptimeNanoseconds
        let peak = canReset ? ProcessMemory.peakResidentSinceReset() : nil
        _ = try ContentHash.sha256(ofFiles: checkpoint.weightFiles)
        let hashed = DispatchTime.now().uptimeNanoseconds
        return Result(
            shape: shape, type: type, fileBytes: fileBytes,
            weightBytes: ForwardBenchmark.parameterCount(config) * MemoryLayout<Float>.size,
            loadSeconds: Double(loaded - start) / 1e9, hashSeconds: Double(hashed - loaded) / 1e9,
            loadPeakAboveBaselineBytes: zip(peak, baseline).map { $0 - $1 })
    }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
