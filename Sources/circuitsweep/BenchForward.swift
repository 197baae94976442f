import ArgumentParser
import Foundation
import NeoX
import Tensor

/// `circuitsweep bench forward`: forward throughput on random weights of a Pythia shape.
struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Measure the GPT-NeoX forward pass on random weights of an exact Pythia shape.",
        discussion: "Compare with Benchmarks/torch_forward.sh (HF GPTNeoXForCausalLM, same shapes, logits at the last position).")

    enum Shape: String, ExpressibleByArgument, CaseIterable {
        case pythia70m = "pythia-70m", pythia160m = "pythia-160m", pythia410m = "pythia-410m"
        case pythia1b = "pythia-1b", pythia1_4b = "pythia-1.4b", pythia2_8b = "pythia-2.8b"

        var pythia: PythiaShape? { PythiaShape(rawValue: rawValue) }
    }

    @Option(help: "Pythia architecture: \(Shape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: Shape = .pythia70m

    @Option(help: "Sequences per batch.")
    var batch: Int = 8

    @Option(help: "Tokens per sequence.")
    var length: Int = 16

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 2

    @Option(help: "Seconds of timed repetitions (at least 3 are run).")
    var budget: Double = 3

    func validate() throws {
        guard batch >= 1, length >= 1, length <= 2048 else { throw ValidationError("--batch ≥ 1 and 1 ≤ --length ≤ 2048") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard shape.pythia != nil else { throw ValidationError("unknown shape \(shape.rawValue)") }
    }

    func run() throws {
        guard let pythia = shape.pythia else { throw ValidationError("unknown shape \(shape.rawValue)") }
        BLAS.setThreadCount(threads)
        let result = ForwardBenchmark.run(shape: pythia, batch: batch, length: length, budgetSeconds: budget)
        let mib = { (bytes: Int) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        print("shape \(pythia.rawValue)  params \(result.parameterCount)  fp32 weights \(mib(result.weightBytes))  threads \(BLAS.threadCount)")
        print("batch \(batch) × \(length) tokens, \(result.repetitions) repetitions")
        print(String(format: "median %.2f ms  %.0f tokens/s  %.1f GFLOP/s", result.medianSeconds * 1000, result.tokensPerSecond, result.gflops))
        let ratio = { (bytes: Int) in String(format: "%.2f× weights", Double(bytes) / Double(result.weightBytes)) }
        print("peak RSS (getrusage) building the random model: \(mib(result.buildPeakResidentBytes)) = \(ratio(result.buildPeakResidentBytes))")
        if let forwardPeak = result.forwardPeakResidentBytes {
            print("peak RSS (getrusage, reset after building) during forwards: \(mib(forwardPeak)) = \(ratio(forwardPeak))")
        }
    }
}
