import ArgumentParser

/// `circuitsweep bench …`: benchmarks that print measured figures.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print measured figures.",
        subcommands: [BenchBLAS.self, BenchForward.self, BenchLoad.self, BenchAttribute.self, BenchResults.self, BenchSweep.self]
    )
}
