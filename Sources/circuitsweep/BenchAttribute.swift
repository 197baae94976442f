import ArgumentParser
import Circuits
import Foundation
import NeoX
import Tensor

/// `circuitsweep bench attribute`: EAP-IG-inputs and patched circuit evaluation on random
/// weights of a Pythia shape; prints seconds, GFLOP/s against the sgemm peak, and peak RSS.
struct BenchAttribute: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribute",
        abstract: "Time EAP-IG attribution and patched circuit evaluation on random Pythia-shaped weights.")

    @Option(help: "Model shape: \(PythiaShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: PythiaShape = .pythia70m

    @Option(help: "Examples in the batch.")
    var examples: Int = 8

    @Option(help: "Tokens per prompt.")
    var tokens: Int = 16

    @Option(help: "EAP-IG steps.")
    var steps: Int = 30

    @Option(help: "Edges in the evaluated circuit.")
    var circuitEdges: Int = 200

    @Option(help: "Position of the first clean/corrupted difference (default: tokens/2).")
    var firstDifference: Int?

    @Option(help: "Rows per stacked forward/backward pass (memory bound).")
    var maxRows: Int = 1024

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 2

    func validate() throws {
        guard examples >= 1, tokens >= 2, tokens <= 2048, steps >= 1, circuitEdges >= 0, maxRows >= 1, threads >= 1 else {
            throw ValidationError("need examples ≥ 1, 2 ≤ tokens ≤ 2048, steps ≥ 1, circuit-edges ≥ 0, max-rows ≥ 1, threads ≥ 1")
        }
    }

    func run() throws {
        BLAS.setThreadCount(threads)
        let peak = GemmBenchmark.measure(size: 1024, budgetSeconds: 0.5)
        print("OpenBLAS \(BLAS.coreName), \(BLAS.threadCount) threads; sgemm 1024³ peak \(String(format: "%.1f", peak.gflops)) GFLOP/s")
        let r = try AttributionBenchmark.run(shape: shape, examples: examples, tokens: tokens, steps: steps,
                                             circuitEdges: circuitEdges, firstDifference: firstDifference,
                                             maxRowsPerPass: maxRows)
        print("shape \(r.shape.rawValue): \(r.examples) examples × \(r.tokens) tokens, EAP-IG-inputs \(r.steps) steps, first difference at position \(r.firstDifference)")
        print(String(format: "attribution: %.2f s/unit wall, %.2f s CPU; nominal %.1f GFLOP (no prefix sharing) → %.1f effective GFLOP/s (%.0f%% of sgemm peak)",
                     r.attributionSeconds, r.attributionCPUSeconds, r.attributionFlops / 1e9, r.attributionGflops,
                     100 * r.attributionGflops / peak.gflops))
        print(String(format: "patched evaluation of %d edges: %.4f s wall, %.4f s CPU (evaluator setup %.3f s)",
                     r.circuitEdges, r.circuitEvaluationSeconds, r.circuitEvaluationCPUSeconds, r.evaluatorSetupSeconds))
        print(String(format: "forward %d×%d: %.4f s, %.1f GFLOP/s", r.forward.batch, r.forward.length,
                     r.forward.medianSeconds, r.forward.gflops))
        print("peak RSS: \(ProcessMemory.peakResidentBytes() >> 20) MB")
    }
}
