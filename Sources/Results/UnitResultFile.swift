import Checksum
import Foundation
import HDF5

/// The HDF5 codec of ``UnitResult`` (layout v1, `schemas/unit-result.md`): atomic write with
/// SHA-256, validating read, and verification.
///
/// All functions block on disk and HDF5 (which is serialized process-wide, see
/// `HDF5Library`); callers MUST run them off Swift's cooperative pool.
public enum UnitResultFile {
    /// The layout version this build writes.
    public static let schemaVersion: Int64 = 1
    /// The layout versions this build reads.
    public static let supportedSchemaVersions: ClosedRange<Int64> = 1...1
    /// Value of the root `format` attribute that marks a unit-result file.
    public static let formatName = "circuitsweep.unit-result"

    /// What a write committed.
    public struct Receipt: Sendable, Equatable {
        /// Lower-case hex SHA-256 of the file's bytes, as committed under the final name.
        public var sha256: String
        public var byteCount: Int
    }

    /// Validates `result`, writes it atomically to `url` (temp file in the same folder, fsync,
    /// rename, fsync of the folder) and returns the file's SHA-256. Missing parent folders are
    /// created. An existing file at `url` is replaced only by a complete new one.
    ///
    /// - Parameters:
    ///   - beforeRename: fault-injection hook for tests, called with the finished temporary
    ///     file (already hashed and synced) right before the rename.
    /// - Throws: ``UnitResultError`` `.invalidResult` (nothing written) or `.hdf5`/`.io`.
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    @discardableResult
    public static func write(_ result: UnitResult, to url: URL,
                             beforeRename: ((URL) throws -> Void)? = nil) throws -> Receipt {
        try UnitResultValidation.check(result)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw UnitResultError.io(file: url.path, reason: "cannot create its folder: \(error.localizedDescription)")
        }
        var receipt: Receipt?
        try mappingHDF5Errors {
            try HDF5AtomicWriter.write(to: url, beforeRename: { temporary in
                receipt = try digest(of: temporary, reportingAs: url.path)
                try beforeRename?(temporary)
            }) { file in
                try UnitResultEncoder(file: file).encode(result)
            }
        }
        guard let receipt else { throw UnitResultError.io(file: url.path, reason: "file was not hashed") }
        return receipt
    }

    /// Reads and validates a unit result: format marker and schema version, every dtype and
    /// shape (scores, masks and index vectors have one entry per edge; heads are `[L, H]`),
    /// finite attribution scores, masks of 0/1, in-range indices. Every chunk's Fletcher32
    /// checksum is checked by the read.
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    public static func read(_ url: URL) throws -> UnitResult {
        try mappingHDF5Errors {
            let file = try HDF5File.open(url)
            return try UnitResultDecoder(file: file).decode()
        }
    }

    /// Lower-case hex SHA-256 of a file's bytes, read in 1 MiB blocks.
    public static func sha256(of url: URL) throws -> String {
        try digest(of: url, reportingAs: url.path).sha256
    }

    /// Checks the file's SHA-256 against `expected` (hex, any case).
    /// - Throws: ``UnitResultError/checksumMismatch(file:expected:found:)``.
    public static func verifySHA256(of url: URL, expected: String) throws {
        let found = try sha256(of: url)
        guard found == expected.lowercased() else {
            throw UnitResultError.checksumMismatch(file: url.path, expected: expected.lowercased(), found: found)
        }
    }

    /// Full verification: the SHA-256 when `expectedSHA256` is given, then a validating
    /// ``read(_:)``. Throws the first problem found.
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    public static func verify(_ url: URL, expectedSHA256: String? = nil) throws {
        if let expectedSHA256 { try verifySHA256(of: url, expected: expectedSHA256) }
        _ = try read(url)
    }

    private static func digest(of url: URL, reportingAs name: String) throws -> Receipt {
        do {
            let digest = try SHA256Hex.ofFile(url)
            return Receipt(sha256: digest.sha256, byteCount: digest.byteCount)
        } catch {
            throw UnitResultError.io(file: name, reason: error.reason)
        }
    }

    private static func mappingHDF5Errors<R>(_ body: () throws -> R) throws -> R {
        do { return try body() } catch let error as HDF5Error { throw UnitResultError.hdf5(error) }
    }
}
