import Checksum
import Foundation

/// Why a multipart message was rejected. The shells count, log and drop; never crash.
public enum WireDecodeError: Error, Equatable, CustomStringConvertible {
    case frameCount(Int, expected: String)
    case unsupportedVersion([UInt8])
    case unknownType(String)
    case oversized(frame: String, bytes: Int, limit: Int)
    case malformedHeader(WireMessage.Kind, String)
    case invalidField(WireMessage.Kind, field: String, String)

    public var description: String {
        switch self {
        case .frameCount(let n, let e): "wrong number of frames: \(n) (expected \(e))"
        case .unsupportedVersion(let v): "unsupported protocol version frame \(v.prefix(8)) (this build speaks \(WireMessage.version))"
        case .unknownType(let t): "unknown message type '\(t)'"
        case .oversized(let f, let b, let l): "\(f) frame of \(b) bytes exceeds \(l)"
        case .malformedHeader(let k, let d): "\(k.rawValue): malformed JSON header: \(d)"
        case .invalidField(let k, let f, let d): "\(k.rawValue): field '\(f)': \(d)"
        }
    }

    /// A short stable label for counters (`wire.drop.<label>`).
    public var label: String {
        switch self {
        case .frameCount: "frames"
        case .unsupportedVersion: "version"
        case .unknownType: "type"
        case .oversized: "oversized"
        case .malformedHeader: "header"
        case .invalidField: "field"
        }
    }
}

/// Size limits enforced while decoding.
public struct WireLimits: Sendable, Equatable {
    public var maxHeaderBytes: Int
    public var maxChunkBytes: Int
    public var maxDatasetBytes: Int
    public var maxResultBytes: Int
    public var maxErrorCharacters: Int

    public init(maxHeaderBytes: Int = 64 << 10, maxChunkBytes: Int = 4 << 20,
                maxDatasetBytes: Int = 512 << 20, maxResultBytes: Int = 4 << 30, maxErrorCharacters: Int = 16_384) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxChunkBytes = maxChunkBytes
        self.maxDatasetBytes = maxDatasetBytes
        self.maxResultBytes = maxResultBytes
        self.maxErrorCharacters = maxErrorCharacters
    }

    public static let standard = WireLimits()
}

/// Encodes and strictly decodes ``WireMessage``s.
public struct WireCodec: Sendable {
    public var limits: WireLimits
    private let fragments = WireFragmentCache()
    private let decoded = WireDecodeCache()

    public init(limits: WireLimits = .standard) { self.limits = limits }

    /// The multipart frames of a message.
    public func encode(_ message: WireMessage) -> [[UInt8]] {
        let kind = message.kind
        var frames: [[UInt8]] = [[WireMessage.version], Array(kind.rawValue.utf8)]
        switch message {
        case .hello(let m): frames.append(json(m))
        case .ready(let m): frames.append(json(m))
        case .heartbeat(let m): frames.append(json(m))
        case .datasetRequest(let m): frames.append(json(m))
        case .resultChunk(let m, let payload): frames.append(fastJSON(m)); frames.append(payload)
        case .resultCommit(let m): frames.append(fastJSON(m))
        case .failure(let m): frames.append(json(m))
        case .release(let m): frames.append(json(m))
        case .bye(let m): frames.append(json(m))
        case .welcome(let m): frames.append(json(m))
        case .assign(let m): frames.append(fastJSON(m))
        case .dataset(let m, let payload): frames.append(json(m)); frames.append(payload)
        case .ack(let m): frames.append(fastJSON(m))
        case .cancel(let m): frames.append(json(m))
        case .shutdown(let m): frames.append(json(m))
        }
        return frames
    }

    private func json(_ value: some Encodable) -> [UInt8] {
        // Headers are plain structs of strings and numbers: encoding cannot fail.
        guard let data = try? JSONEncoder().encode(value) else {
            preconditionFailure("encoding a wire header failed")
        }
        return Array(data)
    }

    // MARK: Fast paths for the per-unit messages (WireJSON.swift)

    private func fastJSON(_ m: WireMessage.Assign) -> [UInt8] {
        var w = WireJSON.Writer(capacity: 512)
        w.integer("lease", m.lease.value)
        w.string("unit", m.unit.hex)
        w.integer("attempt", m.attempt)
        w.bool("speculative", m.speculative)
        w.raw("model", fragments.json(for: .model(m.model)) { json(m.model) })
        w.string("revision", m.revision.name)
        w.raw("task", fragments.json(for: .task(m.task)) { json(m.task) })
        w.string("datasetHash", m.datasetHash)
        w.raw("analysis", fragments.json(for: .analysis(m.analysis)) { json(m.analysis) })
        w.string("resultPath", m.resultPath)
        w.integer("resultSchemaVersion", m.resultSchemaVersion)
        return w.finish()
    }

    private func fastJSON(_ m: WireMessage.Ack) -> [UInt8] {
        var w = WireJSON.Writer(capacity: 96)
        w.string("unit", m.unit.hex)
        w.integer("lease", m.lease.value)
        w.string("status", m.status.rawValue)
        if let detail = m.detail { w.string("detail", detail) }
        return w.finish()
    }

    private func fastJSON(_ m: WireMessage.ResultChunk) -> [UInt8] {
        var w = WireJSON.Writer(capacity: 128)
        w.string("worker", m.worker.value)
        w.string("unit", m.unit.hex)
        w.integer("lease", m.lease.value)
        w.integer("index", m.index)
        w.integer("count", m.count)
        return w.finish()
    }

    private func fastJSON(_ m: WireMessage.ResultCommit) -> [UInt8] {
        var w = WireJSON.Writer(capacity: 192)
        w.string("worker", m.worker.value)
        w.string("unit", m.unit.hex)
        w.integer("lease", m.lease.value)
        w.string("sha256", m.sha256)
        w.integer("size", m.size)
        w.integer("chunks", m.chunks)
        w.bool("shared", m.shared)
        return w.finish()
    }

    /// `nil`: not exactly the fields `fastJSON(_: Assign)` writes; `JSONDecoder` decides.
    static func fastAssign(_ h: [UInt8], cache: WireDecodeCache) -> WireMessage.Assign? {
        // The nested values are read by `JSONDecoder` (or are byte for byte ones it read before).
        guard let o = WireJSON.FlatObject(h, nested: ["model", "task", "analysis"]), o.fields.count == 11,
              let lease = o.uint64("lease"),
              let unit = o.string("unit").flatMap(UnitID.init(hex:)), let attempt = o.int("attempt"),
              let speculative = o.bool("speculative"), let model = o.raw("model").flatMap({ cache.value(ModelSpec.self, $0) }),
              let revision = o.string("revision"), let task = o.raw("task").flatMap({ cache.value(TaskSpec.self, $0) }),
              let datasetHash = o.string("datasetHash"),
              let analysis = o.raw("analysis").flatMap({ cache.value(AnalysisSpec.self, $0) }),
              let resultPath = o.string("resultPath"), let version = o.int("resultSchemaVersion") else { return nil }
        return .init(lease: LeaseID(lease), unit: unit, attempt: attempt, speculative: speculative, model: model,
                     revision: Revision(revision), task: task, datasetHash: datasetHash, analysis: analysis,
                     resultPath: resultPath, resultSchemaVersion: version)
    }

    /// `nil`: not a plain flat header; `JSONDecoder` decides.
    static func fastResultChunk(_ h: [UInt8]) -> WireMessage.ResultChunk? {
        guard let o = WireJSON.FlatObject(h), let worker = o.string("worker"), let unit = o.string("unit").flatMap(UnitID.init(hex:)),
              let lease = o.uint64("lease"), let index = o.int("index"), let count = o.int("count") else { return nil }
        return .init(worker: WorkerID(worker), unit: unit, lease: LeaseID(lease), index: index, count: count)
    }

    static func fastResultCommit(_ h: [UInt8]) -> WireMessage.ResultCommit? {
        guard let o = WireJSON.FlatObject(h), let worker = o.string("worker"), let unit = o.string("unit").flatMap(UnitID.init(hex:)),
              let lease = o.uint64("lease"), let sha = o.string("sha256"), let size = o.int("size"),
              let chunks = o.int("chunks"), let shared = o.bool("shared") else { return nil }
        return .init(worker: WorkerID(worker), unit: unit, lease: LeaseID(lease), sha256: sha, size: size, chunks: chunks, shared: shared)
    }

    static func fastAck(_ h: [UInt8]) -> WireMessage.Ack? {
        guard let o = WireJSON.FlatObject(h), let unit = o.string("unit").flatMap(UnitID.init(hex:)),
              let lease = o.uint64("lease"), let status = o.string("status").flatMap(WireMessage.AckStatus.init(rawValue:))
        else { return nil }
        let detail: String?
        switch o["detail"] {
        case nil, .null?: detail = nil
        case .string(let s)?: detail = s
        default: return nil
        }
        return .init(unit: unit, lease: LeaseID(lease), status: status, detail: detail)
    }

    /// Decodes and validates a multipart message.
    public func decode(_ frames: [[UInt8]]) throws(WireDecodeError) -> WireMessage {
        guard frames.count >= 3 else { throw .frameCount(frames.count, expected: "3 or 4") }
        guard frames[0] == [WireMessage.version] else { throw .unsupportedVersion(Array(frames[0].prefix(8))) }
        guard frames[1].count <= 32, let tag = String(validating: frames[1], as: UTF8.self),
              let kind = WireMessage.Kind(rawValue: tag)
        else {
            throw .unknownType(String(decoding: frames[1].prefix(32), as: UTF8.self))
        }
        let expected = kind.hasPayload ? 4 : 3
        guard frames.count == expected else { throw .frameCount(frames.count, expected: "\(expected) for \(tag)") }
        guard frames[2].count <= limits.maxHeaderBytes else {
            throw .oversized(frame: "header", bytes: frames[2].count, limit: limits.maxHeaderBytes)
        }
        let h = frames[2]
        let message: WireMessage
        switch kind {
        case .hello:
            let m: WireMessage.Hello = try header(h, kind)
            try checkWorker(m.worker, kind)
            try check(m.capacity >= 1 && m.capacity <= 1024, kind, "capacity", "must be 1…1024")
            try check(m.host.count <= 256, kind, "host", "longer than 256")
            try check(m.software.count <= 256, kind, "software", "longer than 256")
            try checkCheckpoint(m.checkpoint, kind)
            message = .hello(m)
        case .ready:
            let m: WireMessage.Ready = try header(h, kind)
            try checkWorker(m.worker, kind)
            try check(m.capacity >= 1 && m.capacity <= 1024, kind, "capacity", "must be 1…1024")
            try checkCheckpoint(m.checkpoint, kind)
            message = .ready(m)
        case .heartbeat:
            let m: WireMessage.Heartbeat = try header(h, kind)
            try checkWorker(m.worker, kind)
            try check(m.capacity >= 1 && m.capacity <= 1024, kind, "capacity", "must be 1…1024")
            try check(m.leases.count <= 4096, kind, "leases", "more than 4096")
            try checkCheckpoint(m.checkpoint, kind)
            message = .heartbeat(m)
        case .datasetRequest:
            let m: WireMessage.DatasetRequest = try header(h, kind)
            try checkWorker(m.worker, kind)
            try check(SHA256Hex.isValid(m.hash), kind, "hash", "not a SHA-256 hex digest")
            message = .datasetRequest(m)
        case .resultChunk:
            let m: WireMessage.ResultChunk = try header(h, kind, fast: Self.fastResultChunk)
            try checkWorker(m.worker, kind)
            let maxChunks = limits.maxResultBytes / max(1, limits.maxChunkBytes) + 1
            try check(m.count >= 1 && m.count <= maxChunks, kind, "count", "must be 1…\(maxChunks)")
            try check(m.index >= 0 && m.index < m.count, kind, "index", "must be 0..<count")
            guard frames[3].count <= limits.maxChunkBytes else {
                throw .oversized(frame: "result-chunk payload", bytes: frames[3].count, limit: limits.maxChunkBytes)
            }
            message = .resultChunk(m, payload: frames[3])
        case .resultCommit:
            let m: WireMessage.ResultCommit = try header(h, kind, fast: Self.fastResultCommit)
            try checkWorker(m.worker, kind)
            try check(SHA256Hex.isValid(m.sha256), kind, "sha256", "not a SHA-256 hex digest")
            try check(m.size >= 0 && m.size <= limits.maxResultBytes, kind, "size", "must be 0…\(limits.maxResultBytes)")
            let maxChunks = limits.maxResultBytes / max(1, limits.maxChunkBytes) + 1
            try check(m.chunks >= 0 && m.chunks <= maxChunks, kind, "chunks", "must be 0…\(maxChunks)")
            try check(m.shared || m.chunks >= 1, kind, "chunks", "must be at least 1 unless shared")
            message = .resultCommit(m)
        case .failure:
            var m: WireMessage.Failure = try header(h, kind)
            try checkWorker(m.worker, kind)
            if m.error.count > limits.maxErrorCharacters { m.error = String(m.error.prefix(limits.maxErrorCharacters)) + "…" }
            message = .failure(m)
        case .release:
            let m: WireMessage.Release = try header(h, kind)
            try checkWorker(m.worker, kind)
            message = .release(m)
        case .bye:
            var m: WireMessage.Bye = try header(h, kind)
            try checkWorker(m.worker, kind)
            m.reason = String(m.reason.prefix(1024))
            message = .bye(m)
        case .welcome:
            let m: WireMessage.Welcome = try header(h, kind)
            try check(m.leaseSeconds > 0 && m.leaseSeconds.isFinite, kind, "leaseSeconds", "must be positive")
            try check(m.heartbeatSeconds > 0 && m.heartbeatSeconds < m.leaseSeconds, kind, "heartbeatSeconds",
                      "must be positive and below leaseSeconds")
            try check(m.maxChunkBytes >= 1024 && m.maxChunkBytes <= limits.maxChunkBytes, kind, "maxChunkBytes",
                      "must be 1 KiB…\(limits.maxChunkBytes)")
            message = .welcome(m)
        case .assign:
            let m: WireMessage.Assign = try header(h, kind) { Self.fastAssign($0, cache: decoded) }
            try check(SHA256Hex.isValid(m.datasetHash), kind, "datasetHash", "not a SHA-256 hex digest")
            try check(m.attempt >= 1, kind, "attempt", "must be at least 1")
            try check(isSafeRelativePath(m.resultPath), kind, "resultPath", "must be a relative path without '..'")
            try checkCheckpoint(m.checkpoint, kind)
            message = .assign(m)
        case .dataset:
            let m: WireMessage.DatasetHeader = try header(h, kind)
            try check(SHA256Hex.isValid(m.hash), kind, "hash", "not a SHA-256 hex digest")
            guard frames[3].count <= limits.maxDatasetBytes else {
                throw .oversized(frame: "dataset payload", bytes: frames[3].count, limit: limits.maxDatasetBytes)
            }
            message = .dataset(m, payload: frames[3])
        case .ack:
            message = .ack(try header(h, kind, fast: Self.fastAck))
        case .cancel:
            message = .cancel(try header(h, kind))
        case .shutdown:
            message = .shutdown(try header(h, kind))
        }
        return message
    }

    /// The fast path's answer, or else `JSONDecoder`'s.
    private func header<T: Decodable>(_ bytes: [UInt8], _ kind: WireMessage.Kind,
                                      fast: ([UInt8]) -> T?) throws(WireDecodeError) -> T {
        if let value = fast(bytes) { return value }
        return try header(bytes, kind)
    }

    private func header<T: Decodable>(_ bytes: [UInt8], _ kind: WireMessage.Kind) throws(WireDecodeError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw .malformedHeader(kind, "missing '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .malformedHeader(kind, "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.dataCorrupted(context) {
            throw .malformedHeader(kind, "\(context.debugDescription.prefix(200)) at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw .malformedHeader(kind, String("\(error)".prefix(200)))
        }
    }

    private func check(_ ok: Bool, _ kind: WireMessage.Kind, _ field: String, _ detail: String) throws(WireDecodeError) {
        if !ok { throw .invalidField(kind, field: field, detail) }
    }

    private func checkWorker(_ w: WorkerID, _ kind: WireMessage.Kind) throws(WireDecodeError) {
        try check(!w.value.isEmpty && w.value.utf8.count <= 128
                  && w.value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-:@".contains($0)) },
                  kind, "worker", "must be 1-128 of letters, digits, '.', '_', '-', ':', '@'")
    }

    private func checkCheckpoint(_ c: CheckpointKey?, _ kind: WireMessage.Kind) throws(WireDecodeError) {
        guard let c else { return }
        try check(!c.model.isEmpty && c.model.count <= 128 && !c.model.contains("/"), kind, "checkpoint.model", "bad model name")
        try check(!c.revision.name.isEmpty && c.revision.name.count <= 128 && !c.revision.name.contains("/"),
                  kind, "checkpoint.revision", "bad revision name")
    }
}

/// True for a non-empty relative path whose components are not empty, `.` or `..`.
public func isSafeRelativePath(_ path: String) -> Bool {
    guard !path.isEmpty, !path.hasPrefix("/"), path.count <= 1024, !path.contains("\0") else { return false }
    return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { $0 != "" && $0 != "." && $0 != ".." }
}
