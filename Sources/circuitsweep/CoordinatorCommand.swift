import ArgumentParser
import Coordinator
import Foundation
import Logging
import Sweep
import ZeroMQ

/// `circuitsweep coordinator SWEEP.yaml --bind ENDPOINT`: runs a sweep.
struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator", abstract: "Run a sweep: hand units to workers, journal progress, store results.")

    @Argument(help: "The sweep file (YAML).")
    var sweep: String

    @Option(help: "ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:5555.")
    var bind: String

    @Option(help: "Folder from `circuitsweep keys generate`: coordinator.key and workers.allow (CURVE + ZAP allow-list).")
    var curveKeys: String?

    @Option(help: "Stem of the coordinator key pair in --curve-keys.")
    var curveName = "coordinator"

    @Flag(help: "Allow a non-loopback bind without CURVE encryption.")
    var insecure = false

    @Flag(help: "Keep running after every unit is done (e.g. to wait for `retry`).")
    var keepRunning = false

    @Flag(help: "Skip re-hashing done results at start (only check that the files exist).")
    var skipVerify = false

    @Option(help: "How results are made durable before they count as done: fsync-each, sync-per-tick, verify-on-restart.")
    var durability: ResultDurability = .syncPerTick

    @Option(help: "Append a group commit's small results to a result pack once it holds this many; their own files follow when the coordinator is idle (schemas/result-packs.md). 0: always write each file at once.")
    var packThreshold = 8

    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel = "info"

    func validate() throws {
        guard bind.hasPrefix("tcp://") || bind.hasPrefix("ipc://") else {
            throw ValidationError("--bind must be a tcp:// or ipc:// endpoint")
        }
        if !isLoopbackEndpoint(bind), !insecure, curveKeys == nil {
            throw ValidationError("""
                refusing to bind \(bind) without CURVE encryption: pass --curve-keys DIR (circuitsweep \
                keys generate), bind a loopback address (tcp://127.0.0.1:PORT), or pass --insecure on a trusted network
                """)
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard packThreshold >= 0 else { throw ValidationError("--pack-threshold must be 0 (never pack) or more") }
    }

    func run() throws {
        let logger = bootstrapSweepLogging(label: "circuitsweep.coordinator", level: logLevel)
        installStopSignals()
        let (spec, results) = try SweepFile.load(sweep)
        let config = CoordinatorConfiguration(spec: spec, resultsDirectory: results, bind: bind,
                                              exitWhenDone: !keepRunning, verifyResultsOnStart: !skipVerify,
                                              datasets: TaskDatasets.provider(
                                                  for: spec, sweepDirectory: URL(fileURLWithPath: sweep).deletingLastPathComponent()),
                                              durability: durability, packThreshold: packThreshold)
        let coordinator = try Coordinator(configuration: config, logger: logger, stopToken: signalStopToken)
        let context = try ZMQContext()
        var options = SocketOptions()
        var zap: ZAPHandler?
        if let curveKeys {
            let dir = URL(fileURLWithPath: curveKeys)
            let keyPair = try CurveKeyFile.readKeyPair(at: dir.appendingPathComponent(curveName + ".key"))
            let allowList = try CurveAllowList(contentsOf: dir.appendingPathComponent(CurveKeySet.allowListFileName))
            // The ZAP handler must serve before the CURVE server binds, and stop after it closes.
            zap = try ZAPHandler(context: context, allowList: allowList, logger: logger)
            options.curve = .server(secretKey: keyPair.secretKey)
            logger.info("CURVE on", metadata: ["zap.allowlist.count": "\(allowList.count)"])
        }
        defer { zap?.stop() }
        let summary = try coordinator.run(context: context, options: options)
        print("units: \(summary.units)  done: \(summary.done)  quarantined: \(summary.quarantined)  "
              + "committed this run: \(summary.stats.committed)  duplicates: \(summary.stats.duplicates)  "
              + "expired leases: \(summary.stats.expired)  dropped messages: \(summary.droppedMessages)")
        if !summary.finished { throw ExitCode(3) }
    }
}

extension ResultDurability: ExpressibleByArgument {}
