import Foundation
import Testing
@testable import HDF5

/// A fresh folder under the system temp folder, removed by `cleanup()`.
struct TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("hdf5tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

@Suite("HDF5 round trips")
struct HDF5RoundTripTests {
    @Test func linkedLibraryIs110OrNewer() {
        let version = HDF5Library.version
        #expect(version.major == 1 && version.minor >= 10)
        #expect(HDF5Library.versionString.hasPrefix("1."))
    }

    @Test func everyNumericTypeRoundTripsInSeveralShapes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("numbers.h5")
        let floats = (0..<600_000).map { Float($0) * 0.25 - 7 }
        let doubles = (0..<24).map { Double($0) / 3 }
        let ints32 = (0..<60).map { Int32($0 - 30) * 1_000_000 }
        let ints64 = [Int64.min, -1, 0, 1, Int64.max, 1 << 40]
        let bytes = (0..<5000).map { UInt8($0 % 251) }
        do {
            let file = try HDF5File.create(url)
            try file.createDataset("f32", values: floats, shape: [600, 1000])
            try file.createDataset("nested/deeper/f64", values: doubles, shape: [2, 3, 4])
            try file.createDataset("i32", values: ints32)
            try file.createDataset("i64", values: ints64, shape: [2, 3])
            try file.createDataset("u8", values: bytes)
            try file.createScalarDataset("scalar", value: 2.5)
            try file.createDataset("empty", values: [Float](), shape: [0, 7])
            try file.close()
        }
        let file = try HDF5File.open(url)
        let f32 = try file.dataset("f32").read(Float.self, shape: .exactly([600, 1000]))
        #expect(f32.values == floats)
        #expect(try file.dataset("nested/deeper/f64").read(Double.self) == HDF5Array(shape: [2, 3, 4], values: doubles))
        #expect(try file.dataset("i32").read(Int32.self).values == ints32)
        #expect(try file.dataset("i64").read(Int64.self) == HDF5Array(shape: [2, 3], values: ints64))
        #expect(try file.dataset("u8").read(UInt8.self, shape: .rank(1)).values == bytes)
        #expect(try file.dataset("scalar").readScalar(Double.self) == 2.5)
        #expect(try file.dataset("scalar").shape() == [])
        #expect(try file.dataset("empty").read(Float.self) == HDF5Array(shape: [0, 7], values: []))
        // 2.4 MB of float32 is split into 1 MiB chunks, each deflated and checksummed.
        #expect(try file.dataset("f32").chunkLocations().count >= 3)
        #expect(try file.dataset("f32").storedTypeDescription() == "float32")
    }

    @Test func stringsRoundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("strings.h5")
        let names = (0..<20_000).map { "a\($0 % 32).h\($0 % 7)->m\($0 % 5)" } + ["", "ünïcødé ✓", "日本語"]
        do {
            let file = try HDF5File.create(url)
            try file.createDataset("names", strings: names)
            try file.createDataset("grid", strings: ["a", "b", "c", "d"], shape: [2, 2])
            try file.createScalarDataset("one", string: "hello")
            try file.createDataset("none", strings: [])
        }
        let file = try HDF5File.open(url)
        #expect(try file.dataset("names").readStrings(shape: .exactly([names.count])).values == names)
        #expect(try file.dataset("grid").readStrings() == HDF5Array(shape: [2, 2], values: ["a", "b", "c", "d"]))
        #expect(try file.dataset("one").readScalarString() == "hello")
        #expect(try file.dataset("none").readStrings().values == [])
    }

    @Test func stringsWithNULAreRejected() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.file("nul.h5"))
        #expect(throws: HDF5Error.self) { try file.createDataset("bad", strings: ["a\u{0}b"]) }
    }

    @Test func attributesOnFilesGroupsAndDatasets() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("attrs.h5")
        do {
            let file = try HDF5File.create(url)
            try file.setAttribute("version", Int64(3))
            try file.setAttribute("name", "pythia-160m ✓")
            try file.setAttribute("phases", ["load", "attribute", "search"])
            try file.setAttribute("seconds", [1.5, 2.25, 0.125])
            try file.setAttribute("nothing", [Double]())
            try file.setAttribute("version", Int64(4))  // replaces
            let group = try file.createGroup("a/b/c")
            try group.setAttribute("flag", UInt8(1))
            try group.setAttribute("ratio", Float(0.5))
            let dataset = try group.createDataset("d", values: [Int32(1), 2, 3])
            try dataset.setAttribute("units", "logits")
            try dataset.setAttribute("dims", [Int32(3)])
        }
        let file = try HDF5File.open(url)
        #expect(try file.attribute("version", as: Int64.self) == 4)
        #expect(try file.stringAttribute("name") == "pythia-160m ✓")
        #expect(try file.stringArrayAttribute("phases") == ["load", "attribute", "search"])
        #expect(try file.attributeArray("seconds", of: Double.self) == [1.5, 2.25, 0.125])
        #expect(try file.attributeArray("nothing", of: Double.self) == [])
        #expect(try file.attributeNames() == ["name", "nothing", "phases", "seconds", "version"])
        let group = try file.group("a/b/c")
        #expect(try group.attribute("flag", as: UInt8.self) == 1)
        #expect(try group.attribute("ratio", as: Float.self) == 0.5)
        #expect(try group.dataset("d").stringAttribute("units") == "logits")
        #expect(try file.dataset("a/b/c/d").attributeArray("dims", of: Int32.self) == [3])
        #expect(try file.hasAttribute("missing") == false)

        let wrongType = #expect(throws: HDF5Error.self) { try file.attribute("version", as: Float.self) }
        #expect(wrongType?.kind == .typeMismatch(expected: "float32", found: "int64"))
        #expect(wrongType?.object == "/@version")
        let missing = #expect(throws: HDF5Error.self) { try group.stringAttribute("nope") }
        #expect(missing?.kind == .missing)
        #expect(missing?.object == "/a/b/c@nope")
    }

    @Test func groupsNestExistAndList() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let file = try HDF5File.create(folder.file("groups.h5"))
        try file.createGroup("circuits/100")
        try file.createGroup("circuits/faithfulness")
        try file.createDataset("circuits/100/mask", values: [UInt8(0), 1])
        #expect(try file.exists("circuits/100/mask"))
        #expect(try file.exists("/circuits/100"))
        #expect(try !file.exists("circuits/200/mask"))
        #expect(try !file.exists("nothing/here"))
        #expect(try file.childNames() == ["circuits"])
        #expect(try file.group("circuits").childNames() == ["100", "faithfulness"])
        #expect(try file.kind(of: "circuits/100") == .group)
        #expect(try file.kind(of: "circuits/100/mask") == .dataset)
        #expect(try file.group("circuits/100").path == "/circuits/100")
    }

    @Test func concurrentWritersOnManyThreadsAreSerialized() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let values = (0..<50_000).map { Float($0) }
        DispatchQueue.concurrentPerform(iterations: 6) { index in
            let url = folder.file("t\(index).h5")
            do {
                try HDF5AtomicWriter.write(to: url) { file in
                    try file.createDataset("v", values: values)
                    try file.setAttribute("index", Int64(index))
                }
                let file = try HDF5File.open(url)
                #expect(try file.dataset("v").read(Float.self).values == values)
                #expect(try file.attribute("index", as: Int64.self) == Int64(index))
            } catch {
                Issue.record("thread \(index): \(error)")
            }
        }
    }
}
