import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure from the HDF5 library or from a check of this wrapper, naming the file and (when
/// there is one) the object path inside it.
///
/// C failures carry HDF5's error stack (`messages`, root cause last), collected with
/// `H5Ewalk2` instead of being printed to stderr.
public struct HDF5Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file has no HDF5 signature (not HDF5 at all, empty, or cut before the superblock).
        case notHDF5
        /// The file has an HDF5 signature but is shorter than its superblock says.
        case truncated
        /// The file (or its folder) cannot be opened or created; `reason` is the C library's.
        case cannotOpen(reason: String)
        /// No group, dataset or attribute of that name.
        case missing
        /// The stored element type is not the requested one (e.g. "float32" read as "int64").
        case typeMismatch(expected: String, found: String)
        /// The stored shape is not the expected one.
        case shapeMismatch(expected: String, found: [Int])
        /// The caller passed something HDF5 cannot store (a string with NUL, a bad shape, …).
        case invalidArgument(String)
        /// An HDF5 call failed; `function` is the C function.
        case library(function: String)
        /// A system call around the file failed (fsync, rename, read).
        case system(operation: String, errno: Int32)
    }

    public var kind: Kind
    /// Path of the file on disk.
    public var file: String
    /// Object path inside the file ("/attribution/scores"), or an attribute as "/group@name".
    public var object: String?
    /// HDF5's error stack, from the API call down to the root cause (`function: description
    /// (minor message)`). The description shows only the last entry, the root cause.
    public var messages: [String]

    public init(_ kind: Kind, file: String, object: String? = nil, messages: [String] = []) {
        self.kind = kind
        self.file = file
        self.object = object
        self.messages = messages
    }

    public var description: String {
        var text = "\(file)"
        if let object { text += " \(object)" }
        text += ": "
        switch kind {
        case .notHDF5: text += "not an HDF5 file (no HDF5 signature; empty, truncated or another format)"
        case .truncated: text += "truncated HDF5 file (shorter than its superblock says); re-create it"
        case .cannotOpen(let reason): text += "cannot open: \(reason)"
        case .missing: text += "no such object"
        case .typeMismatch(let expected, let found): text += "stored as \(found), read as \(expected)"
        case .shapeMismatch(let expected, let found): text += "shape \(found), expected \(expected)"
        case .invalidArgument(let reason): text += reason
        case .library(let function): text += "\(function) failed"
        case .system(let operation, let code): text += "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
        if let cause = messages.last { text += " [HDF5: \(cause)]" }
        return text
    }
}

/// Where an HDF5 call happened, for error messages.
struct HDF5Context: Sendable {
    var file: String
    var object: String?

    func error(_ kind: HDF5Error.Kind, object: String? = nil, messages: [String] = []) -> HDF5Error {
        HDF5Error(kind, file: file, object: object ?? self.object, messages: messages)
    }
}

/// The funnel: every HDF5 call whose failure we report goes through these. They MUST be called
/// with the HDF5 lock held (they are only used inside `HDF5Library.withLock`).
enum HDF5Call {
    /// Checks an `hid_t` result; on failure throws with the error stack.
    static func id(_ result: hid_t, _ function: String, _ context: HDF5Context, object: String? = nil) throws -> hid_t {
        if result >= 0 { return result }
        throw context.error(.library(function: function), object: object, messages: takeErrorStack())
    }

    /// Checks an `herr_t` / `htri_t` result (negative is failure); returns it.
    @discardableResult
    static func status(_ result: Int32, _ function: String, _ context: HDF5Context, object: String? = nil) throws -> Int32 {
        if result >= 0 { return result }
        throw context.error(.library(function: function), object: object, messages: takeErrorStack())
    }

    /// Reads and clears the default error stack: one line per entry, API call first, root cause last.
    static func takeErrorStack() -> [String] {
        final class Collector { var lines: [String] = [] }
        let collector = Collector()
        let walker: H5E_walk2_t = { _, entry, data in
            guard let entry, let data else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(data).takeUnretainedValue()
            let e = entry.pointee
            let function = e.func_name.map { String(cString: $0) } ?? "?"
            var line = function
            if let desc = e.desc.map({ String(cString: $0) }), !desc.isEmpty { line += ": " + desc }
            if let minor = HDF5Call.message(e.min_num), !minor.isEmpty { line += " (\(minor))" }
            collector.lines.append(line)
            return 0
        }
        let stack = ch5_e_default()
        _ = withExtendedLifetime(collector) {
            H5Ewalk2(stack, H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(collector).toOpaque())
        }
        _ = H5Eclear2(stack)
        return collector.lines
    }

    /// The text of an error message id (`H5Eget_msg`).
    static func message(_ id: hid_t) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        var type = H5E_MAJOR
        let n = H5Eget_msg(id, &type, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
