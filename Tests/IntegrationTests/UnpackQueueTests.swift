@testable import Coordinator
import Sweep
import Testing

/// The bookkeeping of packed results waiting for their own files: which pack may go when.
@Suite struct UnpackQueueTests {
    static func unit(_ n: Int) -> UnitID { UnitID(hex: String(format: "%032x", n))! }
    static func entry(_ n: Int, pack: String, offset: Int = 0) -> UnpackQueue.Entry {
        .init(unit: unit(n), resultPath: "m/t/step\(n).h5", location: PackedResult(pack: pack, offset: offset, length: 3))
    }

    @Test func aPackGoesOnceEveryResultInItIsWrittenAndNamesThem() {
        var q = UnpackQueue()
        for n in 0..<3 { #expect(q.add(Self.entry(n, pack: "a.pack")).isEmpty) }
        #expect(q.add(Self.entry(3, pack: "b.pack")).isEmpty)
        #expect(q.count == 4)
        #expect(q.livePacks == ["a.pack", "b.pack"])
        let first = q.next(limit: 2)
        #expect(first.map(\.unit) == [Self.unit(0), Self.unit(1)])
        for e in first { #expect(q.markWritten(e).isEmpty) }
        let rest = q.next(limit: 10)
        #expect(rest.map(\.unit) == [Self.unit(2), Self.unit(3)])
        let completedA = q.markWritten(rest[0])
        #expect(completedA.count == 1)
        #expect(completedA.first?.pack == "a.pack")
        #expect(Set(completedA.first?.units ?? []) == Set([0, 1, 2].map(Self.unit)))
        #expect(q.markWritten(rest[1]).map(\.pack) == ["b.pack"])
        #expect(q.isEmpty)
        #expect(q.livePacks.isEmpty)
    }

    @Test func aNewerCommitSupersedesTheWaitingEntryAndCanFreeItsPack() {
        var q = UnpackQueue()
        _ = q.add(Self.entry(0, pack: "a.pack"))
        _ = q.add(Self.entry(1, pack: "a.pack"))
        // Unit 0 committed again straight to its file: its packed bytes must never overwrite it.
        #expect(q.supersede(Self.unit(0)).isEmpty)
        // Unit 1 committed again into a newer pack: the old pack holds nothing needed any more.
        let completed = q.add(Self.entry(1, pack: "b.pack"))
        #expect(completed.map(\.pack) == ["a.pack"])
        #expect(completed.first?.units == [])
        let next = q.next(limit: 10)
        #expect(next == [Self.entry(1, pack: "b.pack")])
        #expect(q.supersede(Self.unit(7)).isEmpty)
    }

    @Test func aFailedWriteComesBackLaterAndKeepsItsPackAlive() {
        var q = UnpackQueue()
        _ = q.add(Self.entry(0, pack: "a.pack"))
        _ = q.add(Self.entry(1, pack: "a.pack"))
        let taken = q.next(limit: 1)
        q.requeue(taken[0])
        #expect(q.count == 2)
        #expect(q.next(limit: 10).map(\.unit) == [Self.unit(1), Self.unit(0)])
        #expect(q.livePacks == ["a.pack"])
    }

    @Test func writtenEntriesOfLivePacksAreHandedOverAtClose() {
        var q = UnpackQueue()
        _ = q.add(Self.entry(0, pack: "a.pack"))
        _ = q.add(Self.entry(1, pack: "a.pack"))
        let taken = q.next(limit: 1)
        #expect(q.markWritten(taken[0]).isEmpty)
        let written = q.takeWrittenOfLivePacks()
        #expect(written.count == 1)
        #expect(written.first?.units == [Self.unit(0)])
        #expect(q.count == 1)
    }
}
