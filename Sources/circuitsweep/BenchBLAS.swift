import ArgumentParser
import Foundation
import Tensor

/// `circuitsweep bench blas`: sgemm GFLOP/s for square sizes, the numeric peak anchor.
struct BenchBLAS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas",
        abstract: "Measure OpenBLAS sgemm GFLOP/s on square matrices.")

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 2

    @Option(parsing: .upToNextOption, help: "Square sizes to measure.")
    var sizes: [Int] = [512, 1024, 2048, 4096]

    @Option(help: "Seconds of repetitions per size.")
    var budget: Double = 1.0

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard sizes.allSatisfy({ $0 >= 1 && $0 <= 16384 }) else {
            throw ValidationError("--sizes must be between 1 and 16384")
        }
    }

    func run() throws {
        BLAS.setThreadCount(threads)
        let env = ProcessInfo.processInfo.environment
        print("OpenBLAS kernel: \(BLAS.coreName)  threads: \(BLAS.threadCount)")
        print("OpenBLAS config: \(BLAS.configuration)")
        print("OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "(unset)")  OPENBLAS_L2_SIZE=\(env["OPENBLAS_L2_SIZE"] ?? "(unset)")")
        print("size    reps  median_ms   GFLOP/s")
        for size in sizes {
            let m = GemmBenchmark.measure(size: size, budgetSeconds: budget)
            print(String(format: "%-6d  %4d  %9.2f  %8.1f", m.size, m.repetitions, m.medianSeconds * 1000, m.gflops))
        }
    }
}
