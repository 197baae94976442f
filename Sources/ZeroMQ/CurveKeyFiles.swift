import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `write(2)`, named so it cannot be confused with the static `write` methods below.
private func posixWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// A key file or allow-list that could not be read, parsed or written. Every case names the
/// file; parse errors also name the 1-based line. Messages never contain key material.
public enum KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The file could not be created or written.
    case unwritable(path: String, reason: String)
    /// The file exists and overwriting was not requested.
    case alreadyExists(path: String)
    /// A line is not valid in this kind of file.
    case malformedLine(path: String, line: Int, reason: String)
    /// A required `field = value` line is missing.
    case missingField(path: String, field: String)
    /// The public key in a `.key` file does not belong to its secret key.
    case keyMismatch(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .unwritable(let path, let reason): "cannot write \(path): \(reason)"
        case .alreadyExists(let path): "\(path) already exists; remove it or choose another directory"
        case .malformedLine(let path, let line, let reason): "\(path):\(line): \(reason)"
        case .missingField(let path, let field): "\(path): missing '\(field) = …' line"
        case .keyMismatch(let path): "\(path): public-key does not belong to secret-key; regenerate the key pair"
        }
    }
}

/// Reads and writes CURVE key files.
///
/// **Format** (UTF-8 text, `#` starts a comment line, blank lines ignored, `field = value`):
///
/// - `NAME.key` holds a key pair and MUST be mode 0600 (this writer creates it so):
///   ```
///   # circuitsweep CURVE key pair (ZeroMQ Z85). SECRET: keep this file private (mode 0600).
///   public-key = <40 Z85 characters>
///   secret-key = <40 Z85 characters>
///   ```
/// - `NAME.pub` holds only the public key (`public-key = …`), safe to copy around.
///
/// Reading checks every line, rejects unknown or repeated fields, and for `.key` files
/// verifies that the public key matches the secret key (`zmq_curve_public`).
public enum CurveKeyFile {
    static let publicField = "public-key"
    static let secretField = "secret-key"
    /// Key files are tiny; anything larger is not a key file.
    static let maximumKeyFileSize = 64 * 1024

    /// Writes `keyPair` to `url` as a `.key` file with mode 0600.
    /// - Parameter overwrite: replace an existing file (its mode is reset to 0600).
    /// - Throws: ``KeyFileError/alreadyExists(path:)`` or ``KeyFileError/unwritable(path:reason:)``.
    public static func write(_ keyPair: CurveKeyPair, to url: URL, overwrite: Bool = false) throws(KeyFileError) {
        let text = """
            # circuitsweep CURVE key pair (ZeroMQ Z85). SECRET: keep this file private (mode 0600).
            \(publicField) = \(keyPair.publicKey.z85)
            \(secretField) = \(keyPair.secretKey.z85)

            """
        try writeFile(text, to: url, mode: 0o600, overwrite: overwrite)
    }

    /// Writes `publicKey` to `url` as a `.pub` file (mode 0644).
    public static func write(_ publicKey: CurvePublicKey, to url: URL, overwrite: Bool = false) throws(KeyFileError) {
        let text = """
            # circuitsweep CURVE public key (ZeroMQ Z85).
            \(publicField) = \(publicKey.z85)

            """
        try writeFile(text, to: url, mode: 0o644, overwrite: overwrite)
    }

    /// Reads a `.key` file.
    /// - Throws: ``KeyFileError`` naming the file (and line) on any problem.
    public static func readKeyPair(at url: URL) throws(KeyFileError) -> CurveKeyPair {
        let fields = try readFields(at: url, allowed: [publicField, secretField])
        guard let secretText = fields[secretField] else { throw .missingField(path: url.path, field: secretField) }
        guard let publicText = fields[publicField] else { throw .missingField(path: url.path, field: publicField) }
        let secretKey: CurveSecretKey
        let publicKey: CurvePublicKey
        do {
            secretKey = try CurveSecretKey(z85: secretText.value)
        } catch {
            throw .malformedLine(path: url.path, line: secretText.line, reason: "invalid \(secretField): \(error)")
        }
        do {
            publicKey = try CurvePublicKey(z85: publicText.value)
        } catch {
            throw .malformedLine(path: url.path, line: publicText.line, reason: "invalid \(publicField): \(error)")
        }
        do {
            return try CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
        } catch {
            throw .keyMismatch(path: url.path)
        }
    }

    /// Reads the public key of a `.pub` file (or of a `.key` file, ignoring its secret).
    public static func readPublicKey(at url: URL) throws(KeyFileError) -> CurvePublicKey {
        let fields = try readFields(at: url, allowed: [publicField, secretField])
        guard let publicText = fields[publicField] else { throw .missingField(path: url.path, field: publicField) }
        do {
            return try CurvePublicKey(z85: publicText.value)
        } catch {
            throw .malformedLine(path: url.path, line: publicText.line, reason: "invalid \(publicField): \(error)")
        }
    }

    /// Parses `field = value` lines, rejecting unknown and duplicate fields.
    private static func readFields(at url: URL, allowed: Set<String>) throws(KeyFileError) -> [String: (value: String, line: Int)] {
        let text = try readText(at: url, limit: maximumKeyFileSize)
        var fields: [String: (value: String, line: Int)] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            // Field names contain no '=', so the first '=' separates name and value even
            // though '=' is a Z85 character.
            guard let equals = line.firstIndex(of: "=") else {
                throw .malformedLine(path: url.path, line: index + 1, reason: "expected 'field = value'")
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard allowed.contains(name) else {
                throw .malformedLine(path: url.path, line: index + 1,
                                     reason: "unknown field '\(name)' (expected \(allowed.sorted().joined(separator: " or ")))")
            }
            guard fields[name] == nil else {
                throw .malformedLine(path: url.path, line: index + 1, reason: "'\(name)' appears twice")
            }
            fields[name] = (value, index + 1)
        }
        return fields
    }

    /// Reads a UTF-8 file of at most `limit` bytes.
    static func readText(at url: URL, limit: Int) throws(KeyFileError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
        guard data.count <= limit else {
            throw .unreadable(path: url.path, reason: "file is \(data.count) bytes, more than the \(limit)-byte limit for this kind of file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: url.path, reason: "not UTF-8 text")
        }
        return text
    }

    /// Creates `url` with `mode` from the start (no window where a secret is world-readable),
    /// writes `text` and syncs it.
    static func writeFile(_ text: String, to url: URL, mode: mode_t, overwrite: Bool) throws(KeyFileError) {
        let path = url.path
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL)
        let descriptor = open(path, flags, mode)
        if descriptor < 0 {
            let code = errno
            if code == EEXIST { throw .alreadyExists(path: path) }
            throw .unwritable(path: path, reason: String(cString: strerror(code)))
        }
        defer { _ = close(descriptor) }
        // An overwritten file keeps its old mode unless reset.
        if fchmod(descriptor, mode) != 0 {
            throw .unwritable(path: path, reason: "chmod: " + String(cString: strerror(errno)))
        }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { posixWrite(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .unwritable(path: path, reason: String(cString: strerror(errno)))
            }
            bytes = bytes.dropFirst(written)
        }
        if fsync(descriptor) != 0 {
            throw .unwritable(path: path, reason: "fsync: " + String(cString: strerror(errno)))
        }
    }
}

/// The set of CURVE public keys a server admits (see ``ZAPHandler``).
///
/// **File format**: one Z85 public key (40 characters) per line; blank lines are ignored;
/// a line whose first non-blank character is `#` is a comment (a valid Z85 key can never start
/// with `#` or `$`: those digits would encode more than 32 bits); a key may be followed by
/// whitespace and a `# comment`. Anything else is an error naming the file and line.
///
/// ```
/// # workers admitted to the sweep coordinator
/// rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  # worker-001
/// ```
public struct CurveAllowList: Sendable, Equatable {
    /// The admitted keys.
    public var keys: Set<CurvePublicKey>

    /// A list admitting exactly `keys`.
    public init(_ keys: some Sequence<CurvePublicKey>) {
        self.keys = Set(keys)
    }

    /// Whether `key` is admitted.
    public func contains(_ key: CurvePublicKey) -> Bool { keys.contains(key) }

    /// The number of admitted keys.
    public var count: Int { keys.count }

    /// Reads an allow-list file.
    /// - Throws: ``KeyFileError`` naming the file and line of the first malformed entry.
    public init(contentsOf url: URL) throws(KeyFileError) {
        let text = try CurveKeyFile.readText(at: url, limit: 16 * 1024 * 1024)
        self = try Self.parse(text, path: url.path)
    }

    /// Parses allow-list text; `path` only labels errors.
    public static func parse(_ text: String, path: String) throws(KeyFileError) -> CurveAllowList {
        var keys: Set<CurvePublicKey> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            if line.hasPrefix("#") { continue }
            let token = line.prefix { !$0.isWhitespace }
            let rest = line[token.endIndex...].trimmingCharacters(in: .whitespaces)
            guard token.utf8.count == 40 else {
                throw .malformedLine(path: path, line: index + 1,
                                     reason: "expected a 40-character Z85 CURVE public key, found \(token.count) characters")
            }
            guard rest.isEmpty || rest.hasPrefix("#") else {
                throw .malformedLine(path: path, line: index + 1,
                                     reason: "unexpected text after the key (comments must start with '#')")
            }
            do {
                keys.insert(try CurvePublicKey(z85: String(token)))
            } catch {
                throw .malformedLine(path: path, line: index + 1, reason: "invalid CURVE public key: \(error)")
            }
        }
        return CurveAllowList(keys)
    }

    /// Renders an allow-list file: an optional header comment, then one key per line with
    /// an optional trailing comment (e.g. the worker's name), in the given order.
    public static func render(header: String? = nil, entries: [(key: CurvePublicKey, comment: String?)]) -> String {
        var lines: [String] = []
        if let header {
            lines += header.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" }
        }
        for entry in entries {
            if let comment = entry.comment, !comment.isEmpty {
                lines.append("\(entry.key.z85)  # \(comment.replacingOccurrences(of: "\n", with: " "))")
            } else {
                lines.append(entry.key.z85)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes rendered allow-list text to `url` (mode 0644).
    public static func write(header: String? = nil, entries: [(key: CurvePublicKey, comment: String?)],
                             to url: URL, overwrite: Bool = false) throws(KeyFileError) {
        try CurveKeyFile.writeFile(render(header: header, entries: entries), to: url, mode: 0o644, overwrite: overwrite)
    }
}
