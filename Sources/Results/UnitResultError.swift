import HDF5

/// Why a unit result could not be written, read or verified. Every case that concerns a file
/// names it, and the dataset or attribute when there is one.
public enum UnitResultError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HDF5 refused (not HDF5, truncated, missing dataset, wrong dtype or shape, checksum
    /// failure in a chunk, …); the inner error names the file and the object.
    case hdf5(HDF5Error)
    /// An HDF5 file that is not a circuitsweep unit result (`format` attribute missing or other).
    case notAUnitResult(file: String, found: String?)
    /// `schema_version` is not one this build reads.
    case unsupportedSchemaVersion(file: String, found: Int64, supported: ClosedRange<Int64>)
    /// A dataset's length or shape disagrees with the rest of the file.
    case shapeMismatch(file: String, dataset: String, expected: String, found: [Int])
    /// A NaN or infinite value where only finite ones are allowed (attribution scores).
    case nonFinite(file: String, dataset: String, index: Int, value: Float)
    /// A value outside its domain (mask byte not 0/1, index out of range, negative count, …).
    case invalidValue(file: String, dataset: String, reason: String)
    /// The file's SHA-256 is not the expected one.
    case checksumMismatch(file: String, expected: String, found: String)
    /// The in-memory result is inconsistent; nothing was written.
    case invalidResult(reason: String)
    /// Reading the file's bytes failed.
    case io(file: String, reason: String)

    /// The file concerned, if any.
    public var file: String? {
        switch self {
        case .hdf5(let error): return error.file
        case .notAUnitResult(let file, _), .unsupportedSchemaVersion(let file, _, _),
             .shapeMismatch(let file, _, _, _), .nonFinite(let file, _, _, _),
             .invalidValue(let file, _, _), .checksumMismatch(let file, _, _), .io(let file, _):
            return file
        case .invalidResult: return nil
        }
    }

    public var description: String {
        switch self {
        case .hdf5(let error):
            return error.description
        case .notAUnitResult(let file, let found):
            return "\(file): not a circuitsweep unit result (format attribute is \(found.map { "\"\($0)\"" } ?? "missing"), expected \"\(UnitResultFile.formatName)\")"
        case .unsupportedSchemaVersion(let file, let found, let supported):
            let range = supported.lowerBound == supported.upperBound ? "\(supported.lowerBound)" : "\(supported.lowerBound)…\(supported.upperBound)"
            return "\(file): schema_version \(found) is not supported (this build reads \(range)); use a circuitsweep that knows version \(found)"
        case .shapeMismatch(let file, let dataset, let expected, let found):
            return "\(file) \(dataset): shape \(found), expected \(expected)"
        case .nonFinite(let file, let dataset, let index, let value):
            return "\(file) \(dataset): non-finite value \(value) at index \(index)"
        case .invalidValue(let file, let dataset, let reason):
            return "\(file) \(dataset): \(reason)"
        case .checksumMismatch(let file, let expected, let found):
            return "\(file): SHA-256 is \(found), expected \(expected)"
        case .invalidResult(let reason):
            return "invalid unit result, nothing written: \(reason)"
        case .io(let file, let reason):
            return "\(file): \(reason)"
        }
    }
}
