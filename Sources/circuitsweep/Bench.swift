import ArgumentParser
import NeoX

/// `circuitsweep bench …`: benchmarks that print measured figures.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print measured figures.",
        subcommands: [BenchBLAS.self, BenchLinear.self, BenchForward.self, BenchLoad.self, BenchAttribute.self, BenchResults.self, BenchSweep.self]
    )
}

/// Benchmarks take a Pythia shape as `--shape pythia-70m` etc.
extension PythiaShape: ExpressibleByArgument {}
