import ArgumentParser
import Foundation
import ZeroMQ

/// `circuitsweep keys …`: CURVE key management for the coordinator and workers.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the CURVE keys that encrypt and authenticate coordinator-worker traffic.",
        subcommands: [KeysGenerate.self]
    )
}

/// `circuitsweep keys generate --out DIR [--name NAME] [--workers N] [--force]`.
struct KeysGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate the coordinator key pair, worker key pairs and the workers' allow-list.",
        discussion: """
            Writes NAME.key (key pair, mode 0600) and NAME.pub for the coordinator, \
            worker-NNN.key (mode 0600) and worker-NNN.pub for each worker, and workers.allow \
            (one Z85 public key per line), the coordinator's allow-list. Give each worker \
            its own .key file and the coordinator's .pub file. Existing files are never \
            overwritten unless --force is given.
            """)

    @Option(name: .long, help: ArgumentHelp("Output directory (created with mode 0700 if missing).", valueName: "dir"))
    var out: String

    @Option(name: .long, help: "File name stem of the coordinator key pair.")
    var name: String = "coordinator"

    @Option(name: .long, help: "Number of worker key pairs to generate.")
    var workers: Int = 1

    @Flag(name: .long, help: "Overwrite existing key files.")
    var force = false

    func validate() throws {
        guard CurveKeySet.isValidName(name) else {
            throw ValidationError("--name must be 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
        }
        guard (0...10_000).contains(workers) else { throw ValidationError("--workers must be between 0 and 10000") }
        guard !out.isEmpty else { throw ValidationError("--out must name a directory") }
    }

    func run() throws {
        let keySet = try CurveKeySet.generate(
            in: URL(fileURLWithPath: out, isDirectory: true), coordinatorName: name,
            workerCount: workers, overwrite: force)
        print("coordinator key pair: \(keySet.coordinatorKeyFile.path) (secret, mode 0600)")
        print("coordinator public key: \(keySet.coordinatorPublicKeyFile.path)  \(keySet.coordinatorPublicKey.z85)")
        for (keyFile, publicKey) in zip(keySet.workerKeyFiles, keySet.workerPublicKeys) {
            print("worker key pair: \(keyFile.path) (secret, mode 0600)  public \(publicKey.z85)")
        }
        print("allow-list (\(keySet.workerPublicKeys.count) workers): \(keySet.allowListFile.path)")
    }
}
