import Foundation
import HDF5
import Testing
@testable import Results

@Suite("Unit result faults", .serialized)
struct UnitResultFaultTests {
    /// Writes the sample, then lets `damage` edit the stored file through the HDF5 module.
    private func damaged(_ folder: TemporaryFolder, _ name: String,
                         _ damage: (HDF5File) throws -> Void) throws -> URL {
        let url = folder.file(name)
        try UnitResultFile.write(Sample.full(), to: url)
        let file = try HDF5File.open(url, mode: .readWrite)
        try damage(file)
        try file.close()
        return url
    }

    private func readError(_ url: URL) -> UnitResultError? {
        #expect(throws: UnitResultError.self) { try UnitResultFile.read(url) }
    }

    @Test func nonHDF5FileNamesTheFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("text.h5")
        try Data("{\"not\": \"hdf5\"}".utf8).write(to: url)
        let error = readError(url)
        #expect(error == .hdf5(HDF5Error(.notHDF5, file: url.path)))
        #expect(error?.file == url.path)
    }

    @Test func truncatedFileIsReported() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("cut.h5")
        try UnitResultFile.write(Sample.full(), to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count * 2 / 3).write(to: url)
        guard case .hdf5(let inner) = readError(url) else { Issue.record("expected an HDF5 error"); return }
        #expect(inner.kind == .truncated)
        #expect(inner.file == url.path)
    }

    @Test func wrongSchemaVersionSaysWhichItFoundAndWhichItSupports() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = try damaged(folder, "future.h5") { try $0.setAttribute("schema_version", Int64(7)) }
        let error = readError(url)
        #expect(error == .unsupportedSchemaVersion(file: url.path, found: 7, supported: 1...1))
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("schema_version 7") && text.contains("reads 1"), "\(text)")
    }

    @Test func missingDatasetNamesIt() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = try damaged(folder, "missing.h5") { try $0.removeLink("circuits/25/metric") }
        #expect(readError(url) == .hdf5(HDF5Error(.missing, file: url.path, object: "/circuits/25/metric")))
    }

    @Test func nanScoreIsReportedWithItsIndex() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var scores = Sample.full().attribution?.scores ?? []
        scores[17] = .infinity
        let url = try damaged(folder, "nan.h5") { file in
            try file.removeLink("attribution/scores")
            try file.createDataset("attribution/scores", values: scores)
        }
        #expect(readError(url) == .nonFinite(file: url.path, dataset: "/attribution/scores", index: 17, value: .infinity))
    }

    @Test func wrongDtypeAndWrongShapeNameTheDataset() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let scores = (Sample.full().attribution?.scores ?? []).map { Double($0) }
        let dtype = try damaged(folder, "dtype.h5") { file in
            try file.removeLink("attribution/scores")
            try file.createDataset("attribution/scores", values: scores)
        }
        #expect(readError(dtype) == .hdf5(HDF5Error(.typeMismatch(expected: "float32", found: "float64"),
                                                    file: dtype.path, object: "/attribution/scores")))
        let shape = try damaged(folder, "shape.h5") { file in
            try file.removeLink("circuits/10/mask")
            try file.createDataset("circuits/10/mask", values: [UInt8](repeating: 0, count: 101))
        }
        #expect(readError(shape) == .shapeMismatch(file: shape.path, dataset: "/circuits/10/mask",
                                                   expected: "[102] (one per edge)", found: [101]))
        let heads = try damaged(folder, "heads.h5") { file in
            try file.removeLink("heads/copy")
            try file.createDataset("heads/copy", values: [Float](repeating: 0, count: 8))
        }
        guard case .hdf5(let inner) = readError(heads) else { Issue.record("expected an HDF5 error"); return }
        #expect(inner.object == "/heads/copy")
        #expect(inner.kind == .shapeMismatch(expected: "rank 2", found: [8]))
    }

    @Test func flippedByteInScoresIsCaughtAndShaDiffers() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("flipped.h5")
        let receipt = try UnitResultFile.write(Sample.full(), to: url)
        let chunk = try #require(try HDF5File.open(url).dataset("attribution/scores").chunkLocations().first)
        var bytes = try Data(contentsOf: url)
        bytes[chunk.fileOffset + chunk.byteCount / 2] ^= 0x01
        try bytes.write(to: url)
        guard case .hdf5(let inner) = readError(url) else { Issue.record("expected an HDF5 error"); return }
        #expect(inner.object == "/attribution/scores")
        #expect(inner.file == url.path)
        let sha = #expect(throws: UnitResultError.self) {
            try UnitResultFile.verifySHA256(of: url, expected: receipt.sha256)
        }
        if case .checksumMismatch(let file, let expected, _) = sha {
            #expect(file == url.path && expected == receipt.sha256)
        } else {
            Issue.record("expected checksumMismatch, got \(String(describing: sha))")
        }
    }

    @Test func plainHDF5FileIsNotAUnitResult() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("other.h5")
        try HDF5AtomicWriter.write(to: url) { try $0.createDataset("x", values: [Float(1)]) }
        #expect(readError(url) == .notAUnitResult(file: url.path, found: nil))
    }

    /// A writer killed with SIGKILL just before the rename leaves the previous file intact.
    ///
    /// The test forks: the child writes a new result through `UnitResultFile.write` and its
    /// `beforeRename` hook SIGKILLs the child. The HDF5 lock is taken around `fork()` by its
    /// `pthread_atfork` handlers, so the child never starts inside another thread's HDF5 call.
    @Test func writerKilledBeforeRenameLeavesThePreviousFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("unit.h5")
        let old = Sample.full(unitID: "old")
        let oldReceipt = try UnitResultFile.write(old, to: url)
        let new = Sample.full(unitID: "new")
        // Warm the same code path in the parent so the child needs no first-time runtime setup.
        try UnitResultFile.write(new, to: folder.file("warm.h5"))
        try FileManager.default.removeItem(at: folder.file("warm.h5"))

        let pid = fork()
        if pid == 0 {
            do {
                try UnitResultFile.write(new, to: url, beforeRename: { _ in kill(getpid(), SIGKILL) })
            } catch {}
            _exit(3)  // Not reached when the hook fires.
        }
        try #require(pid > 0, "fork failed: errno \(errno)")
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(60)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                Issue.record("the writer child did not finish within 60 s")
                return
            }
            usleep(10_000)
        }
        #expect(status & 0x7f == SIGKILL, "child status \(status): expected death by SIGKILL")

        #expect(try UnitResultFile.sha256(of: url) == oldReceipt.sha256)
        #expect(try UnitResultFile.read(url) == old)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        #expect(leftovers.filter { $0.hasSuffix(".h5") } == ["unit.h5"])
        #expect(leftovers.contains { $0.hasPrefix(".unit.h5.") && $0.hasSuffix(".tmp") },
                "the killed writer's temporary file should be left behind, not renamed: \(leftovers)")
    }
}

@Suite("Verifying folders")
struct UnitResultVerifierTests {
    @Test func folderWalkReportsEachBadFileWithItsReason() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try FileManager.default.createDirectory(at: folder.file("a/b"), withIntermediateDirectories: true)
        let good = folder.file("a/good.h5")
        let receipt = try UnitResultFile.write(Sample.full(), to: good)
        try UnitResultFile.write(Sample.headsOnly(), to: folder.file("a/b/heads.h5"))
        try Data("nope".utf8).write(to: folder.file("a/b/bad.h5"))
        try Data("ignored".utf8).write(to: folder.file("a/notes.txt"))

        let (files, missing) = UnitResultVerifier.collect([folder.url.path, folder.file("absent").path])
        #expect(files.map(\.lastPathComponent) == ["bad.h5", "heads.h5", "good.h5"])  // sorted by path
        #expect(missing.map(\.path) == [folder.file("absent").path])
        let outcomes = files.map { UnitResultVerifier.verify($0) }
        #expect(outcomes.filter(\.isGood).count == 2)
        let bad = try #require(outcomes.first { !$0.isGood })
        #expect(bad.path.hasSuffix("a/b/bad.h5"))
        #expect(bad.problem?.contains("not an HDF5 file") == true)
        #expect(UnitResultVerifier.verify(good, expectedSHA256: receipt.sha256).isGood)
        #expect(UnitResultVerifier.verify(good, expectedSHA256: String(repeating: "0", count: 64)).problem?.contains("SHA-256") == true)
    }
}
