import ArgumentParser
import Coordinator
import Foundation
import Logging
import Sweep
import Synchronization
import Worker
import ZeroMQ

/// `circuitsweep bench sweep`: coordinator throughput with local workers over TCP, restart
/// time of a large journal, and coordinator memory.
struct BenchSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Measure sweep throughput (noop units, local workers over tcp), restart time and RSS.")

    @Option(help: "Noop units for the throughput run.")
    var units = 20_000

    @Option(help: "Local workers, each a separate process with its own DEALER socket over tcp://127.0.0.1.")
    var workers = 8

    @Flag(help: "Run the workers as threads of this process instead (still over tcp).")
    var inProcess = false

    @Option(help: "Units each worker holds at once.")
    var capacity = 16

    @Option(help: "Result durability for the throughput run.")
    var durability: ResultDurability = .syncPerTick

    @Option(help: "Folder for the results and journals (default: the system temp folder); removed afterwards.")
    var dir: String?

    @Option(help: "Units in the restart / memory measurement (0 skips it).")
    var restartUnits = 100_000

    @Option(help: .hidden)
    var restartFrom: String?

    /// Child mode: run one noop worker against this endpoint, then exit.
    @Option(help: .hidden)
    var workerOf: String?

    @Option(help: .hidden)
    var workerIndex = 0

    func validate() throws {
        guard units >= 10, units <= 10_000_000 else { throw ValidationError("--units must be 10…10,000,000") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be 1…256") }
        guard (1...1024).contains(capacity) else { throw ValidationError("--capacity must be 1…1024") }
        guard restartUnits >= 0 else { throw ValidationError("--restart-units must not be negative") }
    }

    func run() throws {
        if let restartFrom {
            return try measureRestart(results: URL(fileURLWithPath: restartFrom))
        }
        if let workerOf {
            let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
            _ = try Worker(configuration: Self.workerConfiguration(connect: workerOf, index: workerIndex, capacity: capacity),
                           analyses: [BenchNoop()], logger: logger).run(context: try ZMQContext())
            return
        }
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let dir = URL(fileURLWithPath: self.dir ?? NSTemporaryDirectory()).appendingPathComponent("cs-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let context = try ZMQContext()

        // 1. Throughput.
        let spec = Self.spec(units: units)
        let config = CoordinatorConfiguration(spec: spec, resultsDirectory: dir.appendingPathComponent("t"),
                                              bind: "tcp://127.0.0.1:*", durability: durability)
        let bound = DispatchSemaphore(value: 0)
        let endpoint = Mutex("")
        let outcome = Mutex<Result<CoordinatorSummary, any Error>?>(nil)
        let started = ContinuousClock.now
        let coordinatorThread = Thread {
            do {
                let c = try Coordinator(configuration: config, logger: logger)
                let s = try c.run(context: context) { e in
                    endpoint.withLock { $0 = e }
                    bound.signal()
                }
                outcome.withLock { $0 = .success(s) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
                bound.signal()
            }
        }
        coordinatorThread.start()
        bound.wait()
        let planned = ContinuousClock.now
        let connect = endpoint.withLock { $0 }
        let done = DispatchGroup()
        var children: [Process] = []
        for i in 0..<workers {
            if inProcess {
                done.enter()
                let wc = Self.workerConfiguration(connect: connect, index: i, capacity: capacity)
                Thread {
                    defer { done.leave() }
                    _ = try? Worker(configuration: wc, analyses: [BenchNoop()], logger: logger).run(context: context)
                }.start()
            } else {
                let child = Process()
                child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
                child.arguments = ["bench", "sweep", "--worker-of", connect, "--worker-index", "\(i)", "--capacity", "\(capacity)"]
                try child.run()
                children.append(child)
            }
        }
        while outcome.withLock({ $0 == nil }) { usleep(2000) }
        let finished = ContinuousClock.now
        let result = outcome.withLock { $0! }
        _ = done.wait(timeout: .now() + 10)
        // Workers leave when told the sweep is finished; after a failure, they are killed (by pid).
        for child in children {
            let deadline = ContinuousClock.now + .seconds(result.isSuccess ? 10 : 0)
            while child.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            child.waitUntilExit()
        }
        let summary = try result.get()
        // From the first assignment (workers connected) to the last commit.
        let seconds = summary.activeSeconds ?? (finished - planned).inSeconds
        let rate = Double(summary.stats.committed) / seconds
        let transactions = Double(summary.journalTransactions)
        print("sweep throughput: \(summary.stats.committed) noop units, \(workers) worker \(inProcess ? "threads" : "processes") × capacity \(capacity) over tcp loopback, durability \(durability.rawValue), results in \(dir.deletingLastPathComponent().path)")
        print(String(format: "  planning + journal of %d units: %.2f s", units, (planned - started).inSeconds))
        print(String(format: "  %.0f units/s (%.2f s from the first assignment; every lease, result and state change journaled)", rate, seconds))
        print(String(format: "  journal: %.0f transactions/s (%d transactions, %.1f units each: group commit)",
                     transactions / seconds, summary.journalTransactions, Double(summary.stats.committed) / max(1, transactions)))
        print(String(format: "  %.2f× the goal of 5,000 units/s; %.2f× Dask distributed (1,157 tasks/s with 8 local workers, no durable state)",
                     rate / 5000, rate / 1157))
        let total = summary.totalSeconds ?? seconds
        print(String(format: "  results: %d appended to packs (a few files per sweep), then in their own files %.2f s after the last unit was done (%.0f units/s end to end)%@",
                     summary.packedResults, total - seconds, Double(summary.stats.committed) / total,
                     summary.resultsLeftInPacks > 0 ? ", \(summary.resultsLeftInPacks) still in packs" : ""))

        // 2. Restart of a large journal to first assignment, and RSS.
        guard restartUnits > 0 else { return }
        let bigDir = dir.appendingPathComponent("r")
        let fresh = ContinuousClock.now
        _ = try Coordinator(configuration: CoordinatorConfiguration(spec: Self.spec(units: restartUnits), resultsDirectory: bigDir,
                                                                    bind: "tcp://127.0.0.1:*"), logger: logger)
        print("restart: \(restartUnits) units")
        print(String(format: "  fresh plan + journal insert: %.2f s", (ContinuousClock.now - fresh).inSeconds))
        // The restart runs in a new process, as a real one would.
        fflush(nil)  // all C streams: keep our lines before the child's
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["bench", "sweep", "--restart-units", "\(restartUnits)", "--restart-from", bigDir.path]
        try child.run()
        child.waitUntilExit()
    }

    /// In a fresh process: open the journal, plan, and wait for the first assignment on the wire.
    func measureRestart(results: URL) throws {
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let context = try ZMQContext()
        let before = Self.rssMegabytes()
        let restart = ContinuousClock.now
        let restarted = try Coordinator(configuration: CoordinatorConfiguration(
            spec: Self.spec(units: restartUnits), resultsDirectory: results, bind: "tcp://127.0.0.1:*", exitWhenDone: false),
            logger: logger)
        let loaded = ContinuousClock.now
        let bigEndpoint = Mutex("")
        let bigBound = DispatchSemaphore(value: 0)
        let holder = UncheckedBox(restarted)
        let runner = Thread {
            _ = try? holder.value.run(context: context) { e in
                bigEndpoint.withLock { $0 = e }
                bigBound.signal()
            }
        }
        runner.start()
        bigBound.wait()
        let dealer = try ZMQSocket(context: context, type: .dealer, options: {
            var o = SocketOptions()
            o.routingID = Data("bench-probe".utf8)
            return o
        }())
        try dealer.connect(bigEndpoint.withLock { $0 })
        let codec = WireCodec()
        _ = try dealer.send(codec.encode(.hello(.init(worker: WorkerID("bench-probe"), host: "bench", pid: 0, capacity: 1,
                                                     checkpoint: nil, sharedResults: false, software: "bench"))).map { Data($0) })
        var firstAssign: ContinuousClock.Instant?
        while firstAssign == nil, ContinuousClock.now - loaded < .seconds(30) {
            guard let frames = try dealer.receive(timeout: .seconds(1)) else { continue }
            if case .assign = try? codec.decode(frames.map { [UInt8]($0) }) { firstAssign = .now }
        }
        let rss = Self.rssMegabytes()
        holder.value.stop()
        try? dealer.close()
        print(String(format: "  restart in a new process (journal load, plan, scheduler): %.2f s; to first assignment on the wire: %@ (goal < 2 s)",
                     (loaded - restart).inSeconds,
                     firstAssign.map { String(format: "%.2f s", ($0 - restart).inSeconds) } ?? "none within 30 s"))
        print(String(format: "  coordinator process RSS with %d units loaded: %.0f MB (%.0f MB at process start; goal < 200 MB)",
                     restartUnits, rss, before))
        while runner.isExecuting { usleep(10_000) }
    }

    static func workerConfiguration(connect: String, index: Int, capacity: Int) -> WorkerConfiguration {
        WorkerConfiguration(connect: connect, capacity: capacity, workerID: WorkerID("bench-\(index)"),
                            software: CircuitSweepVersion.string)
    }

    /// One model, `units / 10` revisions × 10 tasks, noop.
    static func spec(units: Int) -> SweepSpec {
        let tasks = 10
        let revisions = (1...max(1, units / tasks)).map { Revision("step\($0)") }
        var spec = SweepSpec(models: [ModelSpec(name: "bench", location: .folder(path: "bench"))], revisions: revisions,
                             tasks: (0..<tasks).map { TaskSpec(name: "t\($0)", size: 1, seed: UInt64($0)) },
                             analyses: [AnalysisSpec(method: .noop)])
        spec.lease = LeasePolicy(seconds: 60, heartbeatSeconds: 5)
        spec.speculation.enabled = false
        return spec
    }

    static func rssMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}

/// The bench's noop: a 256-byte result written without HDF5 or fsync, so the figure measures
/// the coordinator and protocol, not the worker's disk. (`BuiltinAnalysis` writes real,
/// fsync'd HDF5 unit results and is what `circuitsweep worker` runs.)
final class BenchNoop: UnitAnalysis {
    func handles(_ method: Sweep.AttributionMethod) -> Bool { method == .noop }
    func needsCheckpoint(_ method: Sweep.AttributionMethod) -> Bool { false }
    func run(_ work: UnitWork) throws {
        var bytes = [UInt8](repeating: 0, count: 256)
        bytes.replaceSubrange(0..<32, with: Array(work.assignment.unit.hex.utf8))
        try Data(bytes).write(to: work.output)
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

/// Moves the coordinator into its runner thread.
/// @unchecked: handed over once; only the runner thread touches it afterwards, except
/// `stop()`, which only reads a Sendable token.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
