import Foundation
import Synchronization

/// Hand-written JSON for the per-unit messages (`assign`, `ack`, `result-chunk`,
/// `result-commit`): Foundation's `JSONEncoder`/`JSONDecoder` were most of the coordinator's
/// and the workers' time per unit (`circuitsweep bench sweep` under `perf`). The JSON is the
/// same (same keys and values; key order and escaping may differ, which JSON ignores), and
/// decoding stays exactly as strict: anything the fast path does not fully understand (an
/// escape, a nested value, a number that is not a plain integer, a repeated or missing key)
/// goes to `JSONDecoder`, which accepts or rejects it as before.
enum WireJSON {
    // MARK: Writing

    struct Writer {
        var bytes: [UInt8] = []
        private var first = true

        init(capacity: Int = 256) {
            bytes.reserveCapacity(capacity)
            bytes.append(UInt8(ascii: "{"))
        }

        private mutating func key(_ name: StaticString) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            bytes.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }

        mutating func string(_ name: StaticString, _ value: String) {
            key(name)
            bytes.append(UInt8(ascii: "\""))
            for b in value.utf8 {
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(b)
                case 0..<0x20:
                    let hex: StaticString = "0123456789abcdef"
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    hex.withUTF8Buffer { bytes.append($0[Int(b >> 4)]); bytes.append($0[Int(b & 0xf)]) }
                default:
                    bytes.append(b)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }

        mutating func integer(_ name: StaticString, _ value: some BinaryInteger) {
            key(name)
            bytes.append(contentsOf: String(value).utf8)
        }

        mutating func bool(_ name: StaticString, _ value: Bool) {
            key(name)
            bytes.append(contentsOf: (value ? "true" : "false").utf8)
        }

        /// A value already encoded as JSON.
        mutating func raw(_ name: StaticString, _ json: [UInt8]) {
            key(name)
            bytes.append(contentsOf: json)
        }

        mutating func finish() -> [UInt8] {
            bytes.append(UInt8(ascii: "}"))
            return bytes
        }
    }

    // MARK: Reading

    enum Value {
        case string(String)
        /// The text of a plain integer (`-` and digits).
        case integer(String)
        case bool(Bool)
        case null
        /// A nested object or array, unparsed: its exact bytes, for `JSONDecoder` (or a cache of
        /// what it decoded them to).
        case raw(ArraySlice<UInt8>)
    }

    /// A JSON object of strings without escapes, integers, booleans and nulls; `nil` for
    /// anything else (the caller then uses `JSONDecoder`). Under the keys in `nested`, an object
    /// or array is kept as raw bytes: the caller must have `JSONDecoder` check those (the
    /// brackets are matched here, the content is not read).
    struct FlatObject {
        var fields: [(key: String, value: Value)] = []

        init?(_ bytes: [UInt8], nested: Set<String> = []) {
            guard let parsed = bytes.withUnsafeBufferPointer({ Self.parse($0, nested: nested) }) else { return nil }
            fields = parsed
        }

        subscript(_ key: String) -> Value? { fields.first { $0.key == key }?.value }

        func string(_ key: String) -> String? {
            if case .string(let s)? = self[key] { return s }
            return nil
        }

        func bool(_ key: String) -> Bool? {
            if case .bool(let b)? = self[key] { return b }
            return nil
        }

        func int(_ key: String) -> Int? {
            if case .integer(let text)? = self[key] { return Int(text) }
            return nil
        }

        func uint64(_ key: String) -> UInt64? {
            if case .integer(let text)? = self[key] { return UInt64(text) }
            return nil
        }

        func raw(_ key: String) -> ArraySlice<UInt8>? {
            if case .raw(let bytes)? = self[key] { return bytes }
            return nil
        }

        private static func parse(_ p: UnsafeBufferPointer<UInt8>, nested: Set<String>) -> [(key: String, value: Value)]? {
            var i = 0
            func skipSpace() {
                while i < p.count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
            }
            func literal(_ word: StaticString) -> Bool {
                word.withUTF8Buffer { w in
                    guard i + w.count <= p.count else { return false }
                    for k in 0..<w.count where p[i + k] != w[k] { return false }
                    i += w.count
                    return true
                }
            }
            /// A string without escapes; `nil` for an escape, a control character or bad UTF-8.
            func string() -> String? {
                guard i < p.count, p[i] == UInt8(ascii: "\"") else { return nil }
                let start = i + 1
                var j = start
                while j < p.count, p[j] != UInt8(ascii: "\"") {
                    if p[j] == UInt8(ascii: "\\") || p[j] < 0x20 { return nil }
                    j += 1
                }
                guard j < p.count else { return nil }
                i = j + 1
                return String(validating: UnsafeBufferPointer(rebasing: p[start..<j]), as: UTF8.self)
            }
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: "{") else { return nil }
            i += 1
            var fields: [(key: String, value: Value)] = []
            skipSpace()
            if i < p.count, p[i] == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    guard !fields.contains(where: { $0.key == key }) else { return nil }
                    skipSpace()
                    guard i < p.count, p[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    skipSpace()
                    guard i < p.count else { return nil }
                    let value: Value
                    switch p[i] {
                    case UInt8(ascii: "\""):
                        guard let s = string() else { return nil }
                        value = .string(s)
                    case UInt8(ascii: "t"):
                        guard literal("true") else { return nil }
                        value = .bool(true)
                    case UInt8(ascii: "f"):
                        guard literal("false") else { return nil }
                        value = .bool(false)
                    case UInt8(ascii: "n"):
                        guard literal("null") else { return nil }
                        value = .null
                    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                        let start = i
                        if p[i] == UInt8(ascii: "-") { i += 1 }
                        let digits = i
                        while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") { i += 1 }
                        // Plain integers only: no fraction or exponent, no leading zero, at most 19 digits.
                        guard i > digits, i - digits <= 19, !(p[digits] == UInt8(ascii: "0") && i - digits > 1) else { return nil }
                        if i < p.count, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
                            return nil
                        }
                        value = .integer(String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self))
                    case UInt8(ascii: "{") where nested.contains(key), UInt8(ascii: "[") where nested.contains(key):
                        guard let end = nestedEnd(p, from: i) else { return nil }
                        value = .raw(ArraySlice(UnsafeBufferPointer(rebasing: p[i..<end])))
                        i = end
                    default:
                        return nil  // another nested value, or not JSON
                    }
                    fields.append((key, value))
                    skipSpace()
                    guard i < p.count else { return nil }
                    if p[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    guard p[i] == UInt8(ascii: "}") else { return nil }
                    i += 1
                    break
                }
            }
            skipSpace()
            return i == p.count ? fields : nil
        }

        /// The index just past the object or array that starts at `start` (brackets matched,
        /// strings and their escapes skipped); `nil` if it does not end. Its content is not
        /// checked: `JSONDecoder` reads it.
        private static func nestedEnd(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            var depth = 0
            var i = start
            while i < p.count {
                switch p[i] {
                case UInt8(ascii: "\""):
                    i += 1
                    while i < p.count, p[i] != UInt8(ascii: "\"") {
                        i += p[i] == UInt8(ascii: "\\") ? 2 : 1
                    }
                    guard i < p.count else { return nil }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    guard depth <= 32 else { return nil }
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        }
    }
}

/// A few values kept by key, the oldest dropped beyond 64: the values an `assign` repeats unit
/// after unit (model, task, analysis), so each is encoded (or decoded) once per sweep.
final class WireSmallCache<Key: Equatable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[(key: Key, value: Value)]>([])

    /// The cached value for `key`, else `make()`'s (cached unless `nil`).
    func value(for key: Key, make: () -> Value?) -> Value? {
        if let hit = entries.withLock({ list in list.first { $0.key == key }?.value }) { return hit }
        guard let value = make() else { return nil }
        entries.withLock { list in
            if list.count >= 64 { list.removeFirst() }
            list.append((key, value))
        }
        return value
    }
}

/// JSON of the `assign` fragments, encoded once each.
final class WireFragmentCache: Sendable {
    enum Fragment: Equatable, Sendable {
        case model(ModelSpec)
        case task(TaskSpec)
        case analysis(AnalysisSpec)
    }

    private let cache = WireSmallCache<Fragment, [UInt8]>()

    func json(for fragment: Fragment, encode: () -> [UInt8]) -> [UInt8] {
        cache.value(for: fragment, make: encode) ?? encode()
    }
}

/// What `JSONDecoder` made of the `assign` fragments, keyed by their exact bytes (and the type
/// read), so that a worker decodes each once.
final class WireDecodeCache: Sendable {
    private struct Key: Equatable, Sendable {
        var type: ObjectIdentifier
        var bytes: ArraySlice<UInt8>
    }

    private let cache = WireSmallCache<Key, any Sendable>()

    /// The cached value for `bytes`, else `JSONDecoder`'s (cached); `nil` if it does not decode.
    func value<T: Decodable & Sendable>(_ type: T.Type, _ bytes: ArraySlice<UInt8>) -> T? {
        cache.value(for: Key(type: ObjectIdentifier(T.self), bytes: bytes)) {
            try? JSONDecoder().decode(T.self, from: Data(bytes))
        } as? T
    }
}
