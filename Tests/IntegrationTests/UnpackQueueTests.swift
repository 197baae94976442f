@testable import Coordinator
import Checksum
import Foundation
import Sweep
import Testing

/// The bookkeeping of packed results waiting for their own files: which pack may go when.
@Suite struct UnpackQueueTests {
    static func unit(_ n: Int) -> UnitID { UnitID(hex: String(format: "%032x", n))! }
    static func entry(_ n: Int, pack: String, offset: Int = 0) -> UnpackQueue.Entry {
        .init(unit: unit(n), resultPath: "m/t/step\(n).h5", location: PackedResult(pack: pack, offset: offset, length: 3))
    }

    @Test func aPackGoesOnceClosedAndEveryResultInItIsWritten() {
        var q = UnpackQueue()
        q.open("a.pack")
        for n in 0..<3 { #expect(q.add(Self.entry(n, pack: "a.pack")).isEmpty) }
        #expect(q.close("a.pack").isEmpty)
        q.open("b.pack")
        #expect(q.add(Self.entry(3, pack: "b.pack")).isEmpty)
        #expect(q.count == 4)
        #expect(q.livePacks == ["a.pack", "b.pack"])
        let first = q.next(limit: 2)
        #expect(first.map(\.unit) == [Self.unit(0), Self.unit(1)])
        for e in first { #expect(q.markWritten(e).isEmpty) }
        let rest = q.next(limit: 10)
        #expect(rest.map(\.unit) == [Self.unit(2), Self.unit(3)])
        #expect(q.markWritten(rest[0]) == ["a.pack"])
        // b.pack is still open for appending: it stays although its only result is written.
        #expect(q.markWritten(rest[1]).isEmpty)
        #expect(q.isEmpty)
        #expect(q.close("b.pack") == ["b.pack"])
        #expect(q.livePacks.isEmpty)
    }

    @Test func aNewerCommitSupersedesTheWaitingEntryAndCanFreeItsPack() {
        var q = UnpackQueue()
        _ = q.add(Self.entry(0, pack: "a.pack"))
        _ = q.add(Self.entry(1, pack: "a.pack"))
        // Unit 0 committed again straight to its file: its packed bytes must never overwrite it.
        #expect(q.supersede(Self.unit(0)).isEmpty)
        // Unit 1 committed again into a newer pack: the old pack holds nothing needed any more.
        #expect(q.add(Self.entry(1, pack: "b.pack")) == ["a.pack"])
        #expect(q.next(limit: 10) == [Self.entry(1, pack: "b.pack")])
        #expect(q.supersede(Self.unit(7)).isEmpty)
    }

    @Test func aResultNotWrittenComesBackLaterAndKeepsItsPackAlive() {
        var q = UnpackQueue()
        _ = q.add(Self.entry(0, pack: "a.pack"))
        _ = q.add(Self.entry(1, pack: "a.pack"))
        let taken = q.next(limit: 1)
        q.requeue(taken[0])
        #expect(q.count == 2)
        #expect(q.next(limit: 10).map(\.unit) == [Self.unit(1), Self.unit(0)])
        #expect(q.livePacks == ["a.pack"])
    }
}

/// Appending group commits to one pack, and starting the next when it is full.
@Suite struct ResultPackWriterTests {
    @Test func entriesAppendToOnePackUntilItIsFullAndReadBackExactly() throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cs-packs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = ResultStore(root: root)
        let writer = ResultPackWriter(store: store, maxBytes: 1 << 20, maxEntries: 5)
        func entries(_ range: Range<Int>) -> [ResultStore.PackEntry] {
            range.map { n in
                let bytes = (0..<(100 + n)).map { UInt8(truncatingIfNeeded: $0 * 7 + n) }
                return .init(resultPath: "m/t/step\(n).h5", sha256: SHA256Hex.of(bytes), bytes: bytes)
            }
        }
        let first = try writer.append(entries(0..<3), fsync: false)
        #expect(first.opened != nil)
        #expect(first.closed == nil)
        let second = try writer.append(entries(3..<5), fsync: true)
        #expect(second.opened == nil)
        #expect(Set((first.locations + second.locations).map(\.pack)).count == 1)
        let third = try writer.append(entries(5..<6), fsync: false)
        #expect(third.closed == first.opened)
        #expect(third.opened != nil && third.opened != first.opened)
        #expect(writer.close() == third.opened)
        #expect(Set(store.packNames()) == Set([first.opened!, third.opened!]))
        for (n, location) in (first.locations + second.locations + third.locations).enumerated() {
            let expected = entries(n..<(n + 1))[0]
            #expect(try store.read(location) == expected.bytes)
            #expect(store.verify(location, sha256: expected.sha256) == .matches)
            #expect(store.verify(location, sha256: String(repeating: "0", count: 64)) != .matches)
        }
        let gone = PackedResult(pack: "0-0.pack", offset: 8, length: 4)
        #expect(store.verify(gone, sha256: String(repeating: "0", count: 64)) == .missing)
    }
}
