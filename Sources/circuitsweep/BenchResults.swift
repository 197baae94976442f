import ArgumentParser
import Foundation
import Results

/// `circuitsweep bench results`: size and write/read time of a Pythia-2.8b-sized unit result.
struct BenchResults: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Measure size on disk and write/read seconds of a 1,591,857-edge unit result.")

    @Option(help: "Layers of the synthetic graph (32 = Pythia-2.8b).")
    var layers: Int = 32

    @Option(help: "Heads per layer (32 = Pythia-2.8b).")
    var heads: Int = 32

    @Option(parsing: .upToNextOption, help: "Sizes of the stored top-n circuits.")
    var circuits: [Int] = [200, 400, 600, 800, 1000, 1200]

    @Option(help: "Repetitions; the fastest write and read are reported.")
    var repetitions: Int = 3

    @Option(help: "Folder to write in (default: the system temp folder).")
    var folder: String?

    @Flag(help: "Keep the written file and print its path.")
    var keep = false

    func validate() throws {
        guard (1...64).contains(layers), (1...128).contains(heads) else {
            throw ValidationError("--layers must be 1...64 and --heads 1...128")
        }
        guard (1...20).contains(repetitions) else { throw ValidationError("--repetitions must be 1...20") }
        guard circuits.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--circuits sizes must be non-negative") }
    }

    func run() throws {
        let target = folder.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? FileManager.default.temporaryDirectory
        let m = try UnitResultBenchmark.measure(layers: layers, heads: heads, circuitSizes: circuits,
                                                repetitions: repetitions, folder: target, keep: keep)
        print("edges: \(m.edgeCount)  circuits: \(m.circuitCount) sized + minimal")
        print(String(format: "size on disk: %d bytes (%.2f MB)", m.byteCount, Double(m.byteCount) / 1e6))
        print(String(format: "write: %.3f s wall, %.3f s CPU (validate, encode, deflate, fsync, SHA-256, rename)",
                     m.writeSeconds, m.writeCPUSeconds))
        print(String(format: "read:  %.3f s wall, %.3f s CPU (open, checksums, decode, validate)",
                     m.readSeconds, m.readCPUSeconds))
        print("sha256: \(m.sha256)")
        if keep { print("kept: \(m.file.path)") }
    }
}
