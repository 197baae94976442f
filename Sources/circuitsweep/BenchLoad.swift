import ArgumentParser
import Foundation
import NeoX

/// `circuitsweep bench load`: checkpoint loading speed and memory on a Pythia-shaped file.
struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Write random weights of a Pythia shape as safetensors, then time loading them (up-cast, checks) and hashing.")

    enum DType: String, ExpressibleByArgument, CaseIterable {
        case f32, f16, bf16
        var elementType: ElementType {
            switch self {
            case .f32: .f32
            case .f16: .f16
            case .bf16: .bf16
            }
        }
    }

    @Option(help: "Pythia architecture: \(PythiaShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: PythiaShape = .pythia70m

    @Option(help: "Stored dtype: f32, f16 or bf16.")
    var dtype: DType = .f16

    @Option(help: "Scratch folder (default: a new temporary folder, removed afterwards).")
    var scratch: String?

    func run() throws {
        let directory = scratch.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("circuitsweep-bench-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if scratch == nil { try? FileManager.default.removeItem(at: directory) } }
        let result = try LoadBenchmark.run(shape: shape, type: dtype.elementType, directory: directory)
        let mib = { (bytes: Int) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        print("shape \(shape.rawValue)  \(dtype.rawValue) file \(mib(result.fileBytes))  fp32 weights \(mib(result.weightBytes))")
        print(String(format: "load (mmap, checks, up-cast) %.3f s = %.0f MiB/s of file;  sha256 %.3f s",
                     result.loadSeconds, Double(result.fileBytes) / 1_048_576 / result.loadSeconds, result.hashSeconds))
        if let peak = result.loadPeakAboveBaselineBytes {
            print("peak RSS growth during load \(mib(peak)) = \(String(format: "%.2f", Double(peak) / Double(result.weightBytes)))× fp32 weights")
        }
    }
}
