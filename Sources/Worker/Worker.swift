import Foundation
import Logging
import Sweep
import ZeroMQ

/// How a worker runs.
public struct WorkerConfiguration: Sendable {
    /// Coordinator endpoint, e.g. `tcp://10.0.0.1:5555`.
    public var connect: String
    /// Units held at once (one computing, the rest queued to hide network latency).
    public var capacity: Int
    /// Kernel threads each analysis may use.
    public var threads: Int
    /// Base for relative model locations.
    public var modelRoot: URL?
    /// The results folder as mounted on this machine, when shared with the coordinator:
    /// results are written there (staged) instead of shipped in chunks.
    public var sharedResults: URL?
    /// Seconds a SIGTERM leaves to finish the running unit before releasing it.
    public var gracePeriod: Double
    /// Stable id for this process (defaults to `host-pid-random`).
    public var workerID: WorkerID
    public var software: String

    public init(connect: String, capacity: Int = 2, threads: Int = 1, modelRoot: URL? = nil, sharedResults: URL? = nil,
                gracePeriod: Double = 20, workerID: WorkerID? = nil, software: String) {
        self.connect = connect
        self.capacity = max(1, min(capacity, 1024))
        self.threads = max(1, threads)
        self.modelRoot = modelRoot
        self.sharedResults = sharedResults
        self.gracePeriod = gracePeriod
        self.workerID = workerID ?? Self.defaultID()
        self.software = software
    }

    public static func defaultID() -> WorkerID {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return WorkerID("\(hostComponent)-\(getpid())-\(random)")
    }

    /// This host's name as it appears in default worker ids.
    static var hostComponent: String {
        String(ProcessInfo.processInfo.hostName.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }.prefix(64))
    }
}

/// How `run()` ended.
public enum WorkerExit: Sendable, Equatable {
    /// The coordinator said the sweep is finished.
    case sweepFinished
    /// Stopped by the token (SIGTERM/SIGINT) after finishing or releasing its units.
    case stopped
}

/// The worker shell: a ZeroMQ DEALER loop on the calling thread (network and heartbeats)
/// plus one compute thread that runs the analyses.
///
/// Survives coordinator restarts: the DEALER reconnects by itself, heartbeats re-register
/// the worker, and finished results stay on disk and are re-sent until acknowledged.
public final class Worker {
    let configuration: WorkerConfiguration
    let logger: Logger
    let stopToken: StopToken
    let codec = WireCodec()
    let compute: ComputeThread
    let spool: URL
    let host = ProcessInfo.processInfo.hostName

    var leaseSeconds = 60.0
    var heartbeatSeconds = 1.0
    var maxChunkBytes = 1 << 20
    var checkpoint: CheckpointKey?
    var datasets: [String: [UInt8]] = [:]
    /// Assignments waiting for their dataset, by hash, and when it was last requested.
    var waitingForDataset: [String: (requested: Double, assignments: [WireMessage.Assign])] = [:]
    struct Unacked {
        var assignment: WireMessage.Assign
        var file: URL
        /// The result itself when small (``file`` is then already deleted).
        var bytes: [UInt8]?
        var sha256: String
        var size: Int
        var sentAt: Double
        var resends: Int
    }
    var unacked: [LeaseID: Unacked] = [:]
    var cancelled: Set<LeaseID> = []
    let clockStart = ContinuousClock.now
    var lastHeartbeat = -1e9
    var lastHeard = 0.0
    var draining: Double?  // deadline
    var exitReason: WorkerExit?

    public init(configuration: WorkerConfiguration, analyses: [any UnitAnalysis] = [BuiltinAnalysis()],
                logger: Logger, stopToken: StopToken = StopToken()) throws {
        self.configuration = configuration
        self.logger = logger
        self.stopToken = stopToken
        // Finished results wait here until acknowledged. A restarted process is a new worker,
        // so the spool need not survive a crash: prefer memory-backed /dev/shm.
        var isDirectory: ObjCBool = false
        let base = FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory) && isDirectory.boolValue
            && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        spool = URL(fileURLWithPath: base).appendingPathComponent(StaleSpools.prefix + configuration.workerID.value)
        Self.removeStaleSpools(in: base, logger: logger)
        do {
            try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        } catch {
            throw CoordinatorUnreachable("cannot create spool folder \(spool.path): \(error)")
        }
        compute = ComputeThread(
            analyses: analyses,
            settings: .init(spool: spool, sharedResults: configuration.sharedResults, modelRoot: configuration.modelRoot,
                            threads: configuration.threads, software: configuration.software, host: host),
            logger: logger)
    }

    var now: Double { (ContinuousClock.now - clockStart).inSeconds }

    /// Removes the spools of killed workers of this host (``StaleSpools``).
    static func removeStaleSpools(in base: String, logger: Logger) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        let stale = StaleSpools.stale(names, host: WorkerConfiguration.hostComponent, isAlive: StaleSpools.isAlive)
        for name in stale { try? FileManager.default.removeItem(atPath: base + "/" + name) }
        if !stale.isEmpty {
            logger.info("removed spools of killed workers", metadata: ["folder": "\(base)", "count": "\(stale.count)"])
        }
    }

    /// Connects and works until the coordinator finishes the sweep or the token stops us.
    @available(*, noasync)
    public func run(context: ZMQContext, options: SocketOptions = SocketOptions()) throws -> WorkerExit {
        var options = options
        options.routingID = Data(configuration.workerID.value.utf8)
        options.linger = .seconds(2)
        options.reconnectInterval = .milliseconds(100)
        options.reconnectIntervalMax = .seconds(2)
        options.sendHighWaterMark = 0
        let dealer = try ZMQSocket(context: context, type: .dealer, options: options)
        defer {
            try? dealer.close()
            compute.close()
            try? FileManager.default.removeItem(at: spool)
        }
        try dealer.connect(configuration.connect)
        compute.start()
        logger.info("worker connecting", metadata: ["worker.id": "\(configuration.workerID)", "endpoint": "\(configuration.connect)"])
        try send(.hello(.init(worker: configuration.workerID, host: String(host.prefix(256)), pid: Int(getpid()),
                              capacity: configuration.capacity, checkpoint: nil,
                              sharedResults: configuration.sharedResults != nil, software: configuration.software)), on: dealer)
        var poller = Poller()
        _ = poller.register(dealer)
        if let wake = compute.wakeDescriptor { poller.register(fileDescriptor: wake) }
        while exitReason == nil {
            _ = try poller.poll(timeout: .milliseconds(compute.wakeDescriptor == nil ? 10 : 50))
            compute.drainWakeups()
            while let frames = try dealer.receive(timeout: .zero) {
                lastHeard = now
                do {
                    try handle(try codec.decode(frames.map { [UInt8]($0) }), on: dealer)
                } catch let error as WireDecodeError {
                    logger.warning("dropped a bad message", metadata: ["wire.error": "\(error)"])
                }
            }
            try shipOutcomes(on: dealer)
            try housekeeping(on: dealer)
        }
        try send(.bye(.init(worker: configuration.workerID, reason: exitReason == .sweepFinished ? "sweep finished" : "stopped")), on: dealer)
        logger.info("worker exiting", metadata: ["worker.id": "\(configuration.workerID)", "reason": "\(exitReason ?? .stopped)"])
        return exitReason ?? .stopped
    }

    func send(_ message: WireMessage, on socket: ZMQSocket) throws {
        _ = try socket.send(codec.encode(message).map { Data($0) }, timeout: .zero)
    }

    /// Deletes the spool or staged copy of a result (nothing to do for one held in memory).
    func discardCopy(_ u: Unacked) {
        if u.bytes == nil { unlink(u.file.path) }
    }

    /// Leases this worker holds: queued, computing, or finished but not acknowledged.
    var heldLeases: [LeaseID] {
        compute.leases() + Array(unacked.keys) + waitingForDataset.values.flatMap { $0.assignments.map(\.lease) }
    }
}

/// The worker could not start.
public struct CoordinatorUnreachable: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
