import Foundation
import Results
import Testing

/// A finished sweep whose result files were damaged while the coordinator was down: the
/// restarted coordinator re-verifies every file and recomputes exactly the damaged units.
extension ClusterProcessTests {
    @Suite struct RestartRecoveryTests {
        @Test(.timeLimit(.minutes(1)))
        func corruptAndMissingResultsFoundAtRestartAreRecomputed() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: Cluster.sweep(units: 4, method: "noop", tasks: 2))
            let first = try cluster.startCoordinator(log: "coordinator1.log")
            for i in 0..<2 { try cluster.startWorker(i) }
            #expect(cluster.wait(first, seconds: 30), "first run did not finish:\n\(cluster.log("coordinator1.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 8)
            for p in cluster.processes.dropFirst() { _ = cluster.wait(p, seconds: 10) }

            let units = try cluster.journal().units().sorted { $0.id.hex < $1.id.hex }
            let paths = units.map { cluster.results.appendingPathComponent($0.resultPath ?? "?") }
            // Damage two files (truncate one, flip bytes in another) and delete a third.
            let truncated = paths[0], flipped = paths[1], deleted = paths[2]
            let data = try Data(contentsOf: truncated)
            try data.prefix(data.count / 2).write(to: truncated)
            var bytes = try Data(contentsOf: flipped)
            for i in stride(from: bytes.count / 3, to: bytes.count, by: max(1, bytes.count / 7)) { bytes[i] ^= 0xFF }
            try bytes.write(to: flipped)
            try FileManager.default.removeItem(at: deleted)
            var untouched: [URL: Date] = [:]
            for path in paths.dropFirst(3) {
                untouched[path] = try FileManager.default.attributesOfItem(atPath: path.path)[.modificationDate] as? Date
            }
            usleep(200_000)

            let second = try cluster.startCoordinator(log: "coordinator2.log")
            for i in 2..<4 { try cluster.startWorker(i) }
            #expect(cluster.wait(second, seconds: 30), "restart did not finish:\n\(cluster.log("coordinator2.log").suffix(2000))")
            #expect(second.terminationStatus == 0)
            for path in paths {
                #expect(throws: Never.self, "\(path.lastPathComponent) does not verify") { try UnitResultFile.verify(path) }
            }
            for (path, mtime) in untouched {
                let now = try FileManager.default.attributesOfItem(atPath: path.path)[.modificationDate] as? Date
                #expect(now == mtime, "intact result \(path.path) was recomputed")
            }
            let status = try cluster.journal().status(errorLimit: 0)
            #expect(status.counts[.done] == 8)
            #expect(status.liveLeases == 0)
        }
    }
}
