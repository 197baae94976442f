import ArgumentParser
import Foundation
import NeoX
import Tensor

/// `circuitsweep bench linear`: each linear layer of a Pythia shape, OpenBLAS against the packed
/// kernels the model uses, forward and input gradient.
struct BenchLinear: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear",
        abstract: "Measure a Pythia shape's linear layers: OpenBLAS sgemm against the packed-weight kernels.")

    @Option(help: "Pythia architecture: \(PythiaShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: PythiaShape = .pythia160m

    @Option(help: "Activation rows (tokens in the batch).")
    var rows: Int = 128

    @Option(help: "Threads for both implementations.")
    var threads: Int = 2

    @Option(help: "Seconds of timed repetitions per layer.")
    var budget: Double = 2

    func validate() throws {
        guard rows >= 1, threads >= 1, budget > 0 else { throw ValidationError("--rows, --threads and --budget must be positive") }
    }

    func run() throws {
        BLAS.setThreadCount(threads)
        let c = shape.config, d = c.hiddenSize
        print("shape \(shape.rawValue)  rows \(rows)  threads \(threads)  OpenBLAS \(BLAS.coreName)  packed kernels \(PackedMatrix.usesVectorKernels ? "AVX2/FMA" : "portable")")
        print("layer        product      n      k   OpenBLAS ms  GFLOP/s   packed ms  GFLOP/s  speedup")
        let layers = [("qkv", 3 * d, d), ("dense", d, d), ("mlp in", c.intermediateSize, d), ("mlp out", d, c.intermediateSize),
                      ("unembed", c.vocabSize, d)]
        var blasTotal = [0.0, 0.0], packedTotal = [0.0, 0.0]
        for (name, n, k) in layers {
            let times = c.numLayers
            for m in LinearBenchmark.measure(name: name, m: rows, n: n, k: k, threads: threads, budgetSeconds: budget) {
                let product = m.transposed ? "dy·W" : "x·Wᵀ"
                let label = name.padding(toLength: 12, withPad: " ", startingAt: 0) + " " + product.padding(toLength: 8, withPad: " ", startingAt: 0)
                print(label + String(format: " %6d %6d  %11.3f  %7.1f  %10.3f  %7.1f  %6.2f×", n, k, m.blasSeconds * 1e3,
                                     m.blasGflops, m.packedSeconds * 1e3, m.packedGflops, m.speedup))
                let weight = Double(name == "unembed" ? 1 : times), slot = m.transposed ? 1 : 0
                blasTotal[slot] += weight * m.blasSeconds
                packedTotal[slot] += weight * m.packedSeconds
            }
        }
        for (slot, label) in ["forward x·Wᵀ", "gradient dy·W"].enumerated() {
            print(String(format: "all layers, %@: OpenBLAS %.1f ms, packed %.1f ms → %.2f×", label,
                         blasTotal[slot] * 1e3, packedTotal[slot] * 1e3, blasTotal[slot] / packedTotal[slot]))
        }
    }
}
