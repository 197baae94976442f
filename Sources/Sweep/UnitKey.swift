import Checksum
import Crypto
import Foundation

/// A unit's identity: the first 32 hex digits (128 bits) of a SHA-256 over the canonical
/// JSON of its ``UnitKey``. Changing anything that determines the result changes the id.
///
/// Stored as two integers (no heap string per unit): a sweep holds 100,000s of these as
/// dictionary keys, and hashing or comparing two words is much cheaper than a 32-byte string.
public struct UnitID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Digits 1–16 and 17–32, big-endian, so integer order is the hex text's order.
    let high: UInt64
    let low: UInt64

    /// Accepts exactly 32 lowercase hex digits; `nil` otherwise (ids come from peers and files).
    public init?(hex: String) {
        guard let parsed = hex.utf8.withContiguousStorageIfAvailable({ Self.parse($0) }) ?? Self.parse(Array(hex.utf8))
        else { return nil }
        (high, low) = parsed
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    static func parse(_ bytes: some RandomAccessCollection<UInt8>) -> (UInt64, UInt64)? {
        guard bytes.count == 32 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (n, b) in bytes.enumerated() {
            let digit: UInt64
            switch b {
            case 48...57: digit = UInt64(b - 48)
            case 97...102: digit = UInt64(b - 87)
            default: return nil
            }
            if n < 16 { high = high << 4 | digit } else { low = low << 4 | digit }
        }
        return (high, low)
    }

    /// The 32 lowercase hex digits.
    public var hex: String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 32) { buffer in
            digits.withUTF8Buffer { d in
                for n in 0..<16 {
                    buffer[n] = d[Int(truncatingIfNeeded: high >> UInt64(60 - 4 * n)) & 0xf]
                    buffer[16 + n] = d[Int(truncatingIfNeeded: low >> UInt64(60 - 4 * n)) & 0xf]
                }
            }
            return 32
        }
    }

    public var description: String { hex }
    public static func < (a: UnitID, b: UnitID) -> Bool { (a.high, a.low) < (b.high, b.low) }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let id = UnitID(hex: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad unit id '\(s.prefix(40))'"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// A (model, revision) pair: the unit of model loading and of checkpoint affinity.
public struct CheckpointKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var model: String
    public var revision: Revision

    public init(model: String, revision: Revision) {
        self.model = model
        self.revision = revision
    }

    public var description: String { "\(model)@\(revision.name)" }
}

/// Everything that determines a unit's result. Its canonical JSON (sorted keys) is hashed
/// into the ``UnitID``; storage locations are deliberately not part of it.
public struct UnitKey: Hashable, Sendable, Codable {
    /// Bumped when the meaning of any field changes.
    public static let identityVersion = 1

    public var model: String
    /// The HF repo id for hub models, empty for plain folders.
    public var modelIdentity: String
    public var revision: Revision
    public var task: TaskSpec
    /// SHA-256 hex of the task's dataset bytes (or of its spec until datasets are generated).
    public var datasetHash: String
    public var analysis: AnalysisSpec
    /// The `Results` schema version the result file is written with.
    public var resultSchemaVersion: Int

    public init(model: String, modelIdentity: String, revision: Revision, task: TaskSpec,
                datasetHash: String, analysis: AnalysisSpec, resultSchemaVersion: Int) {
        self.model = model
        self.modelIdentity = modelIdentity
        self.revision = revision
        self.task = task
        self.datasetHash = datasetHash
        self.analysis = analysis
        self.resultSchemaVersion = resultSchemaVersion
    }

    public var checkpoint: CheckpointKey { CheckpointKey(model: model, revision: revision) }

    /// The analysis' canonical parameters as JSON (sorted keys), stored in the journal.
    public var parametersJSON: String {
        Self.canonicalJSON(analysis)
    }

    /// The content hash: SHA-256 of ``identityText``, first 32 hex digits.
    public var id: UnitID {
        Self.id(identityText: identityText(taskJSON: Self.canonicalJSON(task), analysisJSON: parametersJSON))
    }

    /// The hashed text, one `field=value` line each; task and analysis as canonical JSON
    /// (passed in so that planning 100,000 units encodes each task and analysis once).
    func identityText(taskJSON: String, analysisJSON: String) -> String {
        "circuitsweep-unit v\(Self.identityVersion)\nmodel=\(model)\nmodel-identity=\(modelIdentity)\n"
            + "revision=\(revision.name)\ntask=\(taskJSON)\ndataset=\(datasetHash)\n"
            + "analysis=\(analysisJSON)\nresult-schema=\(resultSchemaVersion)\n"
    }

    static func id(identityText: String) -> UnitID {
        // The first 16 bytes of the digest are the first 32 hex digits.
        var high: UInt64 = 0, low: UInt64 = 0
        for (n, byte) in SHA256.hash(data: Data(identityText.utf8)).prefix(16).enumerated() {
            if n < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        return UnitID(high: high, low: low)
    }

    static func canonicalJSON(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and numbers cannot fail.
        guard let data = try? encoder.encode(value) else {
            preconditionFailure("canonical JSON encoding of a plain value failed")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

extension TaskSpec {
    /// A stand-in dataset hash derived from the task spec, used until the coordinator has
    /// generated the dataset (SHA-256 of `task/v1:<name>:<size>:<seed>`).
    public var specHash: String {
        SHA256Hex.of("task/v1:\(name):\(size):\(seed)")
    }
}
