import ArgumentParser
import Foundation
import Logging
import Sweep
import Worker
import ZeroMQ

/// `circuitsweep worker --connect ENDPOINT …`: computes units for a coordinator.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Connect to a coordinator and compute units until the sweep is finished.")

    @Option(help: "Coordinator endpoint, e.g. tcp://10.0.0.1:5555.")
    var connect: String

    @Option(help: "Kernel threads per analysis.")
    var threads = 1

    @Option(help: "Units held at once (one computing, the rest queued).")
    var capacity = 2

    @Option(help: "Base folder for relative model locations in the sweep file.")
    var modelRoot: String?

    @Option(help: "The coordinator's results folder as mounted here: write results there instead of shipping them.")
    var sharedResults: String?

    @Option(help: "Folder with the coordinator's public key (coordinator.pub) and this worker's key pair (*.key).")
    var curveKeys: String?

    @Option(help: "Stem of this worker's key pair in --curve-keys (default: the only worker-*.key there).")
    var curveName: String?

    @Option(help: "Seconds SIGTERM leaves to finish the running unit before releasing it.")
    var grace = 20.0

    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel = "info"

    func validate() throws {
        guard connect.hasPrefix("tcp://") || connect.hasPrefix("ipc://") else {
            throw ValidationError("--connect must be a tcp:// or ipc:// endpoint")
        }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1…256") }
        guard (1...1024).contains(capacity) else { throw ValidationError("--capacity must be 1…1024") }
        guard grace >= 0, grace.isFinite else { throw ValidationError("--grace must be a non-negative number") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() throws {
        let logger = bootstrapSweepLogging(label: "circuitsweep.worker", level: logLevel)
        installStopSignals()
        let config = WorkerConfiguration(
            connect: connect, capacity: capacity, threads: threads,
            modelRoot: modelRoot.map { URL(fileURLWithPath: $0) }, sharedResults: sharedResults.map { URL(fileURLWithPath: $0) },
            gracePeriod: grace, software: CircuitSweepVersion.string)
        let worker = try Worker(configuration: config, analyses: [BuiltinAnalysis(), CircuitUnitAnalysis()],
                                logger: logger, stopToken: signalStopToken)
        var options = SocketOptions()
        if let curveKeys {
            let dir = URL(fileURLWithPath: curveKeys)
            let serverKey = try CurveKeyFile.readPublicKey(at: dir.appendingPathComponent("coordinator.pub"))
            let name: String
            if let curveName {
                name = curveName
            } else {
                let keys = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
                    .filter { $0.hasPrefix("worker-") && $0.hasSuffix(".key") }.sorted()
                guard keys.count == 1 else {
                    throw ValidationError("\(dir.path) holds \(keys.count) worker key pairs (\(keys.prefix(5).joined(separator: ", "))): pick one with --curve-name")
                }
                name = String(keys[0].dropLast(4))
            }
            let keyPair = try CurveKeyFile.readKeyPair(at: dir.appendingPathComponent(name + ".key"))
            options.curve = .client(serverKey: serverKey, keyPair: keyPair)
        }
        let exit = try worker.run(context: try ZMQContext(), options: options)
        logger.info("worker done", metadata: ["exit": "\(exit)"])
    }
}

/// Set by SIGTERM/SIGINT; coordinator and worker loops poll it.
let signalStopToken = StopToken()

/// Routes SIGTERM and SIGINT to ``signalStopToken`` (a lock-free atomic store).
func installStopSignals() {
    _ = signalStopToken.isStopped  // initialise the global before a signal can arrive
    signal(SIGTERM) { _ in signalStopToken.stop() }
    signal(SIGINT) { _ in signalStopToken.stop() }
    signal(SIGPIPE, SIG_IGN)
}

/// Logs to stderr at `level`; called once per process by the long-running commands.
func bootstrapSweepLogging(label: String, level: String) -> Logger {
    let lvl = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = lvl
        return handler
    }
    var logger = Logger(label: label)
    logger.logLevel = lvl
    return logger
}
