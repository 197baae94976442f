import Foundation
import Sweep
import Testing

/// Finds the built `circuitsweep` binary next to the test bundle (or via CIRCUITSWEEP_BIN).
enum Binary {
    static let url: URL? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["CIRCUITSWEEP_BIN"] { candidates.append(env) }
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0])
        candidates.append(argv0.deletingLastPathComponent().appendingPathComponent("circuitsweep").path)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("circuitsweep").path)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for config in ["debug", "release"] {
            candidates.append(root.appendingPathComponent(".build/\(config)/circuitsweep").path)
        }
        return candidates.first { fm.isExecutableFile(atPath: $0) }.map { URL(fileURLWithPath: $0) }
    }()

    static var available: Bool {
        if url == nil {
            print("IntegrationTests skipped: no circuitsweep binary found (run `swift build --build-tests` or set CIRCUITSWEEP_BIN)")
        }
        return url != nil
    }
}

/// A temporary sweep folder with a sweep file, plus the processes started in it. Every
/// process is killed (SIGKILL, by pid) when the cluster is released.
final class Cluster {
    let dir: URL
    let port: Int
    var processes: [Process] = []

    init(yaml: String) throws {
        dir = Cluster.makeFolder()
        try yaml.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
        port = Cluster.freePort()
    }

    /// The fixture sweep of `cluster/fixture-sweep.sh`: neox-tiny × 3 revisions × 2 tasks, EAP-IG
    /// with `steps` steps plus `moreAnalyses` (YAML list items, e.g. "  - method: noop\n").
    init(fixtureSweepWithSteps steps: Int, leaseSeconds: Int, heartbeatSeconds: Double, moreAnalyses: String = "") throws {
        dir = Cluster.makeFolder()
        port = Cluster.freePort()
        let script = Cluster.repository.appendingPathComponent("cluster/fixture-sweep.sh").path
        let output = Command.run("/bin/bash", [script, dir.path, "\(steps)", "\(leaseSeconds)", "\(heartbeatSeconds)", moreAnalyses])
        guard output.succeeded else { throw output }
    }

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repository.appendingPathComponent("Tests/Fixtures")

    private static func makeFolder() -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cs-it-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    deinit {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for p in processes { p.waitUntilExit() }
        try? FileManager.default.removeItem(at: dir)
    }

    var endpoint: String { "tcp://127.0.0.1:\(port)" }
    var results: URL { dir.appendingPathComponent("results") }

    @discardableResult
    func start(_ arguments: [String], log: String, namespace: String? = nil) throws -> Process {
        guard let binary = Binary.url else { throw CocoaError(.fileNoSuchFile) }
        let p = Process()
        if let namespace {
            // `ip netns exec` execs, so the process's pid is the binary's.
            guard let ip = NamespaceNetwork.ip else { throw CocoaError(.fileNoSuchFile) }
            p.executableURL = URL(fileURLWithPath: ip)
            p.arguments = ["netns", "exec", namespace, binary.path] + arguments
        } else {
            p.executableURL = binary
            p.arguments = arguments
        }
        p.currentDirectoryURL = dir
        let logURL = dir.appendingPathComponent(log)
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logURL)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        processes.append(p)
        return p
    }

    func startCoordinator(log: String = "coordinator.log", _ extraArguments: [String] = []) throws -> Process {
        try start(["coordinator", "sweep.yaml", "--bind", endpoint, "--log-level", "debug"] + extraArguments, log: log)
    }

    func startWorker(_ n: Int, capacity: Int = 1) throws -> Process {
        try start(["worker", "--connect", endpoint, "--capacity", "\(capacity)", "--grace", "2"], log: "worker\(n).log")
    }

    func log(_ name: String) -> String { (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "" }

    /// Waits for `p` to exit, up to `seconds`.
    func wait(_ p: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning, Date() < deadline { usleep(50_000) }
        return !p.isRunning
    }

    /// Polls the journal until `condition` holds, up to `seconds`.
    func waitForJournal(seconds: Double, _ condition: (JournalStatus) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let j = try? Journal(readOnlyPath: results.appendingPathComponent("journal.sqlite").path),
               let s = try? j.status(errorLimit: 0), condition(s) {
                return true
            }
            usleep(100_000)
        }
        return false
    }

    func journal() throws -> Journal { try Journal(readOnlyPath: results.appendingPathComponent("journal.sqlite").path) }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func sweep(units revisions: Int, method: String, seconds: Double? = nil, lease: Double = 3, heartbeat: Double = 0.25,
                      tasks: Int = 2) -> String {
        """
        results: results
        revisions: ["step1..step\(revisions) every 1"]
        models:
          - {name: toy, folder: models/toy}
        tasks:
        \((0..<tasks).map { "  - {name: t\($0), size: 4, seed: \($0)}" }.joined(separator: "\n"))
        analyses:
          - method: \(method)\(seconds.map { "\n    seconds: \($0)" } ?? "")
        lease: {seconds: \(lease), heartbeat_seconds: \(heartbeat)}
        retry: {max_attempts: 5, backoff_seconds: 0.2, max_backoff_seconds: 1}
        speculation: {enabled: true, after_seconds: 30}
        """
    }

    /// Every unit done, each committed exactly once, and every result file present.
    func expectAllDoneOnce(units: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let j = try journal()
        let s = try j.status(errorLimit: 0)
        #expect(s.counts[.done] == units, "done \(s.counts)", sourceLocation: sourceLocation)
        #expect(s.liveLeases == 0, sourceLocation: sourceLocation)
        var committed: [String: Int] = [:]
        for a in try j.attempts() where a.outcome == "committed" { committed[a.unit, default: 0] += 1 }
        #expect(committed.count == units, sourceLocation: sourceLocation)
        #expect(committed.values.allSatisfy { $0 == 1 }, "a unit committed twice: \(committed.filter { $0.value > 1 })",
                sourceLocation: sourceLocation)
        for u in try j.units() {
            let path = results.appendingPathComponent(u.resultPath ?? "?").path
            #expect(FileManager.default.fileExists(atPath: path), "missing \(path)", sourceLocation: sourceLocation)
            #expect(u.packed == nil, "\(path) still waits in pack \(u.packed?.pack ?? "")", sourceLocation: sourceLocation)
        }
    }
}

/// Every suite that starts coordinator and worker processes runs inside this one, one at a
/// time: on two cores, concurrent clusters make each other's leases expire.
@Suite(.serialized) struct ClusterProcessTests {}
