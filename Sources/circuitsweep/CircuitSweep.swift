import ArgumentParser

/// The `circuitsweep` command line: argument parsing and wiring only.
@main
struct CircuitSweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "circuitsweep",
        abstract: "Distributed EAP-IG circuit analyses over model families and training checkpoints.",
        version: CircuitSweepVersion.string,
        subcommands: [
            Plan.self,
            CoordinatorCommand.self,
            WorkerCommand.self,
            Status.self,
            Retry.self,
            Bench.self,
            Keys.self,
            Verify.self,
        ]
    )
}

/// Software version reported by `--version` and stored in every result file.
enum CircuitSweepVersion {
    static let string = "0.1.0"
}
