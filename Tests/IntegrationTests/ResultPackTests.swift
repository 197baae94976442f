@testable import Coordinator
import Foundation
import Results
import Sweep
import Testing

/// Result packs: a group commit of many small results writes one pack instead of one file
/// per result, journals the units done, and writes their own files when idle. A coordinator
/// stopped before that writes them at its next start; a damaged pack re-queues its units.
extension ClusterProcessTests {
    @Suite struct ResultPackTests {
        /// A noop sweep of `units` units per task (2 tasks) on 3 workers with `--pack-threshold`,
        /// waited for up to `seconds`.
        static func runSweep(units: Int, packThreshold: Int, seconds: Double) throws -> (Cluster, Process) {
            let cluster = try Cluster(yaml: Cluster.sweep(units: units, method: "noop", tasks: 2))
            let coordinator = try cluster.startCoordinator(["--pack-threshold", "\(packThreshold)"])
            for i in 0..<3 { try cluster.startWorker(i, capacity: 16) }
            #expect(cluster.wait(coordinator, seconds: seconds), "did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            return (cluster, coordinator)
        }

        @Test(.timeLimit(.minutes(2)))
        func aFastSweepGoesThroughPacksAndEndsWithEveryResultInItsOwnFile() throws {
            guard Binary.available else { return }
            // Every group commit packs its results, however few arrive at once on this machine.
            let (cluster, coordinator) = try Self.runSweep(units: 400, packThreshold: 1, seconds: 90)
            #expect(coordinator.terminationStatus == 0)
            try cluster.expectAllDoneOnce(units: 800)
            let packs = cluster.results.appendingPathComponent(PackedResult.folder)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: packs.path)) ?? []).isEmpty, "packs left behind")
            for u in try cluster.journal().units() {
                let file = cluster.results.appendingPathComponent(u.resultPath ?? "?")
                #expect(throws: Never.self) { try UnitResultFile.verify(file, expectedSHA256: u.sha256) }
            }
            #expect(Self.packedCount(in: cluster.log("coordinator.log")) == 800)
        }

        @Test(.timeLimit(.minutes(2)))
        func packThresholdZeroWritesEveryResultStraightToItsFile() throws {
            guard Binary.available else { return }
            let (cluster, _) = try Self.runSweep(units: 100, packThreshold: 0, seconds: 60)
            try cluster.expectAllDoneOnce(units: 200)
            #expect(Self.packedCount(in: cluster.log("coordinator.log")) == 0)
            #expect(!FileManager.default.fileExists(atPath: cluster.results.appendingPathComponent(PackedResult.folder).path))
        }

        @Test(.timeLimit(.minutes(2)))
        func packedResultsLeftByAStoppedCoordinatorAreWrittenAtRestartAndADamagedPackIsRecomputed() throws {
            guard Binary.available else { return }
            let cluster = try Cluster(yaml: Cluster.sweep(units: 6, method: "noop", tasks: 2))
            let first = try cluster.startCoordinator(log: "coordinator1.log")
            for i in 0..<2 { try cluster.startWorker(i) }
            #expect(cluster.wait(first, seconds: 30), "first run did not finish:\n\(cluster.log("coordinator1.log").suffix(2000))")
            for p in cluster.processes.dropFirst() { _ = cluster.wait(p, seconds: 10) }
            try cluster.expectAllDoneOnce(units: 12)

            // The state a coordinator leaves when it stops between journaling a pack and writing
            // the files: 8 results only in a good pack, 3 only in a truncated one.
            let units = try cluster.journal().units().sorted { $0.id.hex < $1.id.hex }
            let store = ResultStore(root: cluster.results)
            let kept = Array(units[0..<8]), damaged = Array(units[8..<11])
            var changes: [JournalChange] = []
            var damagedPack = ""
            for (group, damage) in [(kept, false), (damaged, true)] {
                let entries = try group.map { u in
                    ResultStore.PackEntry(resultPath: u.resultPath!, sha256: u.sha256!,
                                          bytes: [UInt8](try Data(contentsOf: store.url(for: u.resultPath!))))
                }
                let locations = try store.writePack(entries)
                for (u, location) in zip(group, locations) {
                    changes.append(.unitDone(unit: u.id, path: u.resultPath!, sha256: u.sha256!, packed: location, at: 1))
                    try FileManager.default.removeItem(at: store.url(for: u.resultPath!))
                }
                if damage {
                    damagedPack = locations[0].pack
                    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.packPath(damagedPack)))
                    try handle.truncate(atOffset: UInt64(locations[1].offset + 5))
                    try handle.close()
                }
            }
            let orphan = cluster.results.appendingPathComponent("\(PackedResult.folder)/1-1.pack")
            try Data("CSWPACK1".utf8).write(to: orphan)
            try Journal(path: cluster.results.appendingPathComponent("journal.sqlite").path).apply(changes)
            #expect(try cluster.journal().units().filter { $0.packed != nil }.count == 11)

            // `plan` sees the packed results as done and the damaged ones as corrupt.
            let plan = try SweepFile.preview(try SweepFile.load(cluster.dir.appendingPathComponent("sweep.yaml").path).spec,
                                             results: cluster.results)
            let reasons = Dictionary(uniqueKeysWithValues: plan.map { ($0.id, $0.reason) })
            for u in kept { #expect(reasons[u.id] == .done(path: u.resultPath!)) }
            for u in damaged[1...] {
                guard case .resultCorrupt = reasons[u.id] else {
                    Issue.record("unit in the truncated pack planned as \(String(describing: reasons[u.id]))")
                    continue
                }
            }

            let second = try cluster.startCoordinator(log: "coordinator2.log")
            for i in 2..<4 { try cluster.startWorker(i) }
            #expect(cluster.wait(second, seconds: 30), "restart did not finish:\n\(cluster.log("coordinator2.log").suffix(2000))")
            #expect(second.terminationStatus == 0)
            let after = Dictionary(uniqueKeysWithValues: try cluster.journal().units().map { ($0.id, $0) })
            var committed: [UnitID: Int] = [:]
            for a in try cluster.journal().attempts() where a.outcome == "committed" {
                if let id = UnitID(hex: a.unit) { committed[id, default: 0] += 1 }
            }
            for u in kept {
                // Written from the pack: the same bytes, never recomputed.
                #expect(after[u.id]?.sha256 == u.sha256)
                #expect(committed[u.id] == 1)
            }
            // The first entry of the truncated pack is intact; the two cut off are recomputed.
            #expect(after[damaged[0].id]?.sha256 == damaged[0].sha256)
            for u in damaged[1...] { #expect(committed[u.id] == 2, "unit \(u.id) was not recomputed") }
            for u in after.values {
                #expect(u.packed == nil)
                #expect(throws: Never.self) { try UnitResultFile.verify(store.url(for: u.resultPath!), expectedSHA256: u.sha256) }
            }
            #expect(store.packNames().isEmpty, "packs left: \(store.packNames())")
        }

        static func packedCount(in log: String) -> Int? {
            guard let line = log.split(separator: "\n").last(where: { $0.contains("sweep finished") }),
                  let range = line.range(of: "results.packed=") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }
}

extension ResultStore {
    /// Writes `entries` into a new pack of their own (closed at once), as a coordinator stopped
    /// before writing their files would have left them; returns each one's location.
    func writePack(_ entries: [PackEntry]) throws -> [PackedResult] {
        let writer = ResultPackWriter(store: self)
        defer { writer.close() }
        return try writer.append(entries, fsync: true).locations
    }
}
