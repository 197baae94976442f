import Sweep

/// The packed results still waiting for their own files, and which packs they keep alive.
/// Pure bookkeeping for ``GroupCommitter``: no I/O.
///
/// A pack may be deleted once it is closed for appending and every result it holds was
/// either written to its file or superseded by a later commit of the same unit.
struct UnpackQueue {
    struct Entry: Equatable {
        var unit: UnitID
        var resultPath: String
        var location: PackedResult
    }

    /// In commit order; `nil` where an entry was superseded or taken.
    private var entries: [Entry?] = []
    private var head = 0
    private var position: [UnitID: Int] = [:]
    /// Per pack: results not yet written (and not superseded), plus one while it is open.
    private var references: [String: Int] = [:]

    /// Results waiting for their files.
    var count: Int { position.count }
    var isEmpty: Bool { position.isEmpty }

    /// Packs that are open or hold a waiting result.
    var livePacks: Set<String> { Set(references.keys) }

    /// A pack is open for appending: it stays until ``close(_:)``.
    mutating func open(_ pack: String) {
        references[pack, default: 0] += 1
    }

    /// The pack takes no more results. Returns it if nothing in it is needed any more.
    mutating func close(_ pack: String) -> [String] {
        release(pack)
    }

    /// A unit's result now waits in `entry.location`; an older entry of the same unit is
    /// superseded. Returns packs that hold nothing needed any more.
    mutating func add(_ entry: Entry) -> [String] {
        let completed = supersede(entry.unit)
        position[entry.unit] = entries.count
        entries.append(entry)
        references[entry.location.pack, default: 0] += 1
        return completed
    }

    /// The unit was committed again (straight to its file, or into a newer pack): its waiting
    /// entry, if any, must not overwrite that. Returns packs that hold nothing needed any more.
    mutating func supersede(_ unit: UnitID) -> [String] {
        guard let index = position.removeValue(forKey: unit), let old = entries[index] else { return [] }
        entries[index] = nil
        return release(old.location.pack)
    }

    /// Up to `limit` entries to write next, in commit order. They keep their pack alive until
    /// ``markWritten(_:)``; an entry that was not written goes back with ``requeue(_:)``.
    mutating func next(limit: Int) -> [Entry] {
        var out: [Entry] = []
        while out.count < limit, head < entries.count {
            if let e = entries[head] {
                out.append(e)
                entries[head] = nil
                position.removeValue(forKey: e.unit)
            }
            head += 1
        }
        compactIfDrained()
        return out
    }

    /// A taken entry that was not written: back at the end of the queue.
    mutating func requeue(_ entry: Entry) {
        position[entry.unit] = entries.count
        entries.append(entry)
    }

    /// A taken entry's file was written. Returns packs that hold nothing needed any more.
    mutating func markWritten(_ entry: Entry) -> [String] {
        release(entry.location.pack)
    }

    private mutating func release(_ pack: String) -> [String] {
        let left = (references[pack] ?? 0) - 1
        if left > 0 {
            references[pack] = left
            return []
        }
        references.removeValue(forKey: pack)
        return [pack]
    }

    private mutating func compactIfDrained() {
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096, head * 2 > entries.count {
            entries.removeFirst(head)
            for (unit, index) in position { position[unit] = index - head }
            head = 0
        }
    }
}
