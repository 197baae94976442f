import Foundation
import Testing
@testable import HDF5

@Suite("HDF5 bad input and atomic writes")
struct HDF5FailureTests {
    private func writeSample(_ url: URL, value: Float = 1) throws {
        try HDF5AtomicWriter.write(to: url) { file in
            try file.createDataset("data/values", values: (0..<100_000).map { Float($0) * value })
            try file.setAttribute("value", value)
        }
    }

    @Test func readingWithTheWrongTypeNamesFileAndDataset() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("typed.h5")
        try writeSample(url)
        let file = try HDF5File.open(url)
        let error = #expect(throws: HDF5Error.self) { try file.dataset("data/values").read(Int64.self) }
        #expect(error?.kind == .typeMismatch(expected: "int64", found: "float32"))
        #expect(error?.file == url.path)
        #expect(error?.object == "/data/values")
        #expect(error.map { "\($0)" }?.contains("/data/values") == true)
        let strings = #expect(throws: HDF5Error.self) { try file.dataset("data/values").readStrings() }
        #expect(strings?.kind == .typeMismatch(expected: "string", found: "float32"))
    }

    @Test func readingWithAnUnexpectedShapeNamesFileAndDataset() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("shaped.h5")
        try writeSample(url)
        let file = try HDF5File.open(url)
        let error = #expect(throws: HDF5Error.self) {
            try file.dataset("data/values").read(Float.self, shape: .exactly([99_999]))
        }
        #expect(error?.kind == .shapeMismatch(expected: "[99999]", found: [100_000]))
        #expect(error?.object == "/data/values")
        #expect(error?.file == url.path)
        let rank = #expect(throws: HDF5Error.self) { try file.dataset("data/values").read(Float.self, shape: .rank(2)) }
        #expect(rank?.object == "/data/values")
    }

    @Test func missingDatasetIsTyped() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("missing.h5")
        try writeSample(url)
        let file = try HDF5File.open(url)
        let error = #expect(throws: HDF5Error.self) { try file.dataset("data/nope") }
        #expect(error?.kind == .missing)
        #expect(error?.object == "/data/nope")
        let group = #expect(throws: HDF5Error.self) { try file.dataset("data") }
        #expect(group?.kind == .typeMismatch(expected: "dataset", found: "group"))
    }

    @Test func nonHDF5EmptyAndMissingFilesAreTyped() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let text = folder.file("text.h5")
        try Data("this is not HDF5\n".utf8).write(to: text)
        let notHDF5 = #expect(throws: HDF5Error.self) { try HDF5File.open(text) }
        #expect(notHDF5?.kind == .notHDF5)
        #expect(notHDF5?.file == text.path)

        let empty = folder.file("empty.h5")
        try Data().write(to: empty)
        #expect((#expect(throws: HDF5Error.self) { try HDF5File.open(empty) })?.kind == .notHDF5)

        let absent = folder.file("absent.h5")
        let missing = #expect(throws: HDF5Error.self) { try HDF5File.open(absent) }
        #expect(missing?.file == absent.path)
        if case .cannotOpen = missing?.kind {} else { Issue.record("expected cannotOpen, got \(String(describing: missing))") }
    }

    @Test func truncatedFileIsTyped() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("cut.h5")
        try writeSample(url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count / 2).write(to: url)
        let error = #expect(throws: HDF5Error.self) { try HDF5File.open(url) }
        #expect(error?.kind == .truncated)
        #expect(error?.file == url.path)
        #expect(error.map { "\($0)" }?.contains("truncated") == true)
    }

    @Test func flippedByteInAChunkIsCaughtByFletcher32() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("flipped.h5")
        try writeSample(url)
        let chunk = try #require(try HDF5File.open(url).dataset("data/values").chunkLocations().first)
        var bytes = try Data(contentsOf: url)
        bytes[chunk.fileOffset + chunk.byteCount / 2] ^= 0x40
        try bytes.write(to: url)
        let file = try HDF5File.open(url)
        let error = #expect(throws: HDF5Error.self) { try file.dataset("data/values").read(Float.self) }
        #expect(error?.object == "/data/values")
        #expect(error?.kind == .library(function: "H5Dread"))
        #expect(error?.messages.joined().localizedCaseInsensitiveContains("fletcher") == true
                || error?.messages.joined().localizedCaseInsensitiveContains("checksum") == true)
    }

    @Test func atomicWriteLeavesNoTemporaryFilesAndAFailedBodyKeepsTheOldFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("result.h5")
        try writeSample(url, value: 1)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try HDF5AtomicWriter.write(to: url) { file in
                try file.createDataset("data/values", values: [Float(9)])
                throw Boom()
            }
        }
        #expect(throws: Boom.self) {
            try HDF5AtomicWriter.write(to: url, beforeRename: { _ in throw Boom() }) { file in
                try file.createDataset("data/values", values: [Float(9)])
            }
        }
        #expect(try HDF5File.open(url).attribute("value", as: Float.self) == 1)
        try writeSample(url, value: 2)
        #expect(try HDF5File.open(url).attribute("value", as: Float.self) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["result.h5"])
    }

    @Test func closingAFileWithOpenObjectsThrows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.file("open.h5"))
        let group = try file.createGroup("g")
        _ = withExtendedLifetime(group) {
            #expect(throws: HDF5Error.self) { try file.close() }
        }
    }
}
