import Foundation
import Sweep

extension Coordinator {
    /// At start-up: remembers the verified packed results of done units (their files are
    /// written once the loop runs) and deletes packs nothing refers to (left by a crash
    /// between writing a pack and journaling it, or by results re-queued as corrupt).
    func keepPacks(of rows: [UnitRecord], plan: [PlannedUnit]) {
        var done = Set<UnitID>()
        for p in plan {
            if case .done = p.reason { done.insert(p.id) }
        }
        var live = Set<String>()
        for row in rows {
            guard let packed = row.packed, done.contains(row.id), let path = row.resultPath else { continue }
            packedAtStart.append(.init(unit: row.id, resultPath: path, location: packed))
            live.insert(packed.pack)
        }
        for name in store.packNames() where !live.contains(name) {
            store.removePack(name)
        }
        if !packedAtStart.isEmpty {
            logger.info("results waiting in packs since the last run", metadata: [
                "results": "\(packedAtStart.count)", "packs": "\(live.count)",
            ])
        }
    }

    /// After the loop: waits until every packed result is in its own file — up to an hour (or
    /// until 30 s pass without progress) when the sweep finished, briefly when the coordinator
    /// was stopped (the journal keeps where the rest is; the next start writes them). Returns
    /// how many still wait.
    func writePackedResults(_ committer: GroupCommitter) -> Int {
        let waiting = committer.waitingResults
        guard waiting > 0 else { return 0 }
        logger.info("writing packed results to their own files", metadata: ["results": "\(waiting)"])
        let left = committer.waitForUnpacking(deadline: .now + (finished ? .seconds(3600) : .seconds(2)))
        if left > 0 {
            logger.warning("results left in packs: their own files could not be written now (see the warnings above, e.g. a full disk); start the coordinator again to write them", metadata: [
                               "results": "\(left)", "packs": "\(store.packFolder)",
                           ])
        }
        return left
    }
}
