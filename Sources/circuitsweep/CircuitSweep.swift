import ArgumentParser

/// The `circuitsweep` command line: argument parsing and wiring only.
@main
struct CircuitSweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "circuitsweep",
        abstract: "Distributed EAP-IG circuit analyses over model families and training checkpoints.",
        version: CircuitSweepVersion.string,
        subcommands: [
            // Sweeps across machines.
            Plan.self,
            CoordinatorCommand.self,
            WorkerCommand.self,
            Status.self,
            Retry.self,
            AggregateCommand.self,
            ReportCommand.self,
            // Single analyses and tools.
            Attribute.self,
            Heads.self,
            Dataset.self,
            Forward.self,
            Tokenize.self,
            Keys.self,
            Bench.self,
            Verify.self,
        ]
    )
}

/// Software version reported by `--version` and stored in every result file.
enum CircuitSweepVersion {
    static let string = "0.1.0"
}
