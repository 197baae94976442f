import ArgumentParser
import Foundation
import NeoX
import Tensor

/// `circuitsweep bench forward`: forward throughput on random weights of a Pythia shape.
struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Measure the GPT-NeoX forward pass on random weights of an exact Pythia shape.",
        discussion: """
            Compare with Benchmarks/torch_forward.sh (HF GPTNeoXForCausalLM, same shapes and logits mode), \
            or run Benchmarks/compare_forward.sh for both side by side.
            """)

    enum Logits: String, ExpressibleByArgument, CaseIterable {
        case last, all, both

        var rows: [NeoXModel.LogitRows] {
            switch self {
            case .last: [.last]
            case .all: [.all]
            case .both: [.last, .all]
            }
        }
    }

    @Option(help: "Pythia architecture: \(PythiaShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: PythiaShape = .pythia70m

    @Option(help: "Sequences per batch.")
    var batch: Int = 8

    @Option(help: "Tokens per sequence.")
    var length: Int = 16

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 2

    @Option(help: "Seconds of timed repetitions per logits mode (at least 5 are run).")
    var budget: Double = 3

    @Option(help: "Logits computed: 'last' (each sequence's last position, HF logits_to_keep=1), 'all' ([B, P, V]) or 'both'.")
    var logits: Logits = .both

    @Option(help: "Median ms of the torch run with last-position logits, to print the ratio.")
    var torchLastMs: Double?

    @Option(help: "Median ms of the torch run with full logits, to print the ratio.")
    var torchAllMs: Double?

    func validate() throws {
        guard batch >= 1, length >= 1, length <= 2048 else { throw ValidationError("--batch ≥ 1 and 1 ≤ --length ≤ 2048") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        for case let ms? in [torchLastMs, torchAllMs] where !(ms > 0) {
            throw ValidationError("--torch-last-ms and --torch-all-ms must be positive milliseconds")
        }
    }

    func run() throws {
        BLAS.setThreadCount(threads)
        let results = ForwardBenchmark.run(shape: shape, batch: batch, length: length, logitRows: logits.rows,
                                           budgetSeconds: budget)
        guard let first = results.first else { return }
        let mib = { (bytes: Int) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        let ratio = { (bytes: Int) in String(format: "%.2f× weights", Double(bytes) / Double(first.weightBytes)) }
        print("shape \(shape.rawValue)  params \(first.parameterCount)  fp32 weights \(mib(first.weightBytes))  threads \(BLAS.threadCount)  OpenBLAS \(BLAS.coreName)")
        print("batch \(batch) × \(length) tokens")
        print("peak RSS (getrusage) building the random model: \(mib(first.buildPeakResidentBytes)) = \(ratio(first.buildPeakResidentBytes))")
        for result in results {
            var line = "logits \(result.logitRows.rawValue): " + String(
                format: "median %.2f ms  %.0f tokens/s  %.1f GFLOP/s  (%d repetitions)",
                result.medianSeconds * 1000, result.tokensPerSecond, result.gflops, result.repetitions)
            if let torch = result.logitRows == .last ? torchLastMs : torchAllMs {
                line += String(format: "  torch %.2f ms → %.2f× torch", torch, torch / (result.medianSeconds * 1000))
            }
            print(line)
            if let forwardPeak = result.forwardPeakResidentBytes {
                print("  peak RSS (reset after building) during these forwards: \(mib(forwardPeak)) = \(ratio(forwardPeak))")
            }
        }
    }
}
