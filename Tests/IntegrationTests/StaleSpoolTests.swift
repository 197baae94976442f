import Foundation
import Logging
import Testing
@testable import Worker

/// Spool folders of killed workers on this host are removed by the next worker that starts.
@Suite struct StaleSpoolTests {
    @Test func onlyDefaultNamedSpoolsOfThisHostWhoseProcessIsGoneAreStale() {
        let names = [
            "circuitsweep-worker-h-123-ab12",   // dead pid: stale
            "circuitsweep-worker-h-456-ff",     // alive
            "circuitsweep-worker-other-123-ab", // another host
            "circuitsweep-worker-h-123",        // not a default id
            "circuitsweep-worker-custom",       // custom --id
            "circuitsweep-worker-h-12x-ab",     // not a pid
            "something-else",
        ]
        #expect(StaleSpools.stale(names, host: "h", isAlive: { $0 == 456 }) == ["circuitsweep-worker-h-123-ab12"])
        #expect(StaleSpools.isAlive(getpid()))
    }

    @Test func aStartingWorkerRemovesTheSpoolOfAKilledOne() throws {
        let base = NSTemporaryDirectory() + "cs-spools-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        // A pid that certainly ended: a child we started and reaped.
        var child: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { for a in argv { free(a) } }
        #expect(posix_spawn(&child, "/bin/true", nil, nil, argv, environ) == 0)
        var status: Int32 = 0
        _ = waitpid(child, &status, 0)
        let host = WorkerConfiguration.hostComponent
        let dead = "\(base)/circuitsweep-worker-\(host)-\(child)-deadbeef"
        let alive = "\(base)/circuitsweep-worker-\(host)-\(getpid())-cafe"
        for folder in [dead, alive] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data("result".utf8).write(to: URL(fileURLWithPath: folder + "/7.result"))
        }
        Worker.removeStaleSpools(in: base, logger: Logger(label: "test"))
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: alive + "/7.result"))
    }
}
