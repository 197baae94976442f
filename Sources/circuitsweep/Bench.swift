import ArgumentParser

/// `circuitsweep bench …`: benchmarks that print measured figures.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print measured figures.",
<<<<<<< HEAD
        subcommands: [BenchBLAS.self, BenchSweep.self]
=======
        subcommands: [BenchBLAS.self, BenchResults.self]
>>>>>>> hdf5results
    )
}
