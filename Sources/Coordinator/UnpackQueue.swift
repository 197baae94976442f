import Sweep

/// The packed results still waiting for their own files, and which packs they keep alive.
/// Pure bookkeeping for ``GroupCommitter``: no I/O.
///
/// A pack may be deleted once every result it holds was either written to its file (and the
/// journal says so) or superseded by a later commit of the same unit.
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
    /// Results per pack not yet unpacked (and not superseded).
    private var references: [String: Int] = [:]
    /// Entries written to their files, per pack, whose journal update is still to come.
    private var written: [String: [UnitID]] = [:]

    /// Results waiting for their files.
    var count: Int { position.count }
    var isEmpty: Bool { position.isEmpty }

    /// Packs some waiting result still lives in.
    var livePacks: Set<String> { Set(references.keys) }

    /// A pack that holds nothing needed any more: journal `units` as unpacked, then delete it.
    typealias CompletedPack = (pack: String, units: [UnitID])

    /// A unit's result now waits in `entry.location`; an older entry of the same unit is
    /// superseded.
    mutating func add(_ entry: Entry) -> [CompletedPack] {
        let completed = supersede(entry.unit)
        position[entry.unit] = entries.count
        entries.append(entry)
        references[entry.location.pack, default: 0] += 1
        return completed
    }

    /// The unit was committed again (straight to its file, or into a newer pack): its waiting
    /// entry, if any, must not overwrite that.
    mutating func supersede(_ unit: UnitID) -> [CompletedPack] {
        guard let index = position.removeValue(forKey: unit), let old = entries[index] else { return [] }
        entries[index] = nil
        return release(old.location.pack)
    }

    /// Up to `limit` entries to write next, in commit order. They stay referenced until
    /// ``markWritten(_:)``; an entry that failed goes back with ``requeue(_:)``.
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

    /// A taken entry whose file could not be written: back at the end of the queue.
    mutating func requeue(_ entry: Entry) {
        position[entry.unit] = entries.count
        entries.append(entry)
    }

    /// A taken entry's file was written (not yet synced).
    mutating func markWritten(_ entry: Entry) -> [CompletedPack] {
        written[entry.location.pack, default: []].append(entry.unit)
        return release(entry.location.pack)
    }

    /// Written entries of packs that still hold waiting results (for a last journal update
    /// when the coordinator stops early; their packs stay).
    mutating func takeWrittenOfLivePacks() -> [CompletedPack] {
        defer { written.removeAll() }
        return written.map { ($0.key, $0.value) }
    }

    private mutating func release(_ pack: String) -> [CompletedPack] {
        let left = (references[pack] ?? 0) - 1
        if left > 0 {
            references[pack] = left
            return []
        }
        references.removeValue(forKey: pack)
        return [(pack, written.removeValue(forKey: pack) ?? [])]
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
