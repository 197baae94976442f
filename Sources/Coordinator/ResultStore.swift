import Checksum
import Foundation
import Sweep

/// A result-file failure, naming the file and what to do.
public struct ResultStoreError: Error, CustomStringConvertible {
    public var path: String
    public var detail: String

    public var description: String { "result \(path): \(detail)" }
}

/// The results folder: `results/<model>/<task>/<revision>.h5`, written atomically
/// (temporary file in the same folder, fsync, rename, fsync of the folder).
public struct ResultStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public func url(for relativePath: String) -> URL { root.appendingPathComponent(relativePath, isDirectory: false) }

    /// ``url(for:)`` as a path, without touching the file system.
    public func path(for relativePath: String) -> String { root.path + "/" + relativePath }

    /// The staging name a shared-results worker writes a lease's copy to.
    public static func stagingPath(for relativePath: String, lease: LeaseID) -> String {
        ResultStaging.path(for: relativePath, lease: lease)
    }

    /// Writes `bytes` to `relativePath` atomically (temporary file, rename); an existing file
    /// is replaced. With `fsync` the file and its folder are flushed before returning;
    /// without, call ``syncAll()`` before journaling the result done (group commit).
    /// - Parameter token: makes the temporary name unique among concurrent writers of the
    ///   same result (the coordinator passes the lease id); default: a random UUID.
    @available(*, noasync)
    public func commit(_ bytes: [UInt8], to relativePath: String, fsync flush: Bool = true,
                       token: String? = nil) throws(ResultStoreError) {
        // Plain string paths: `URL.appendingPathComponent` stats the file system on every call.
        let final = path(for: relativePath)
        let slash = final.lastIndex(of: "/") ?? final.startIndex
        let folder = String(final[..<slash])
        let temp = "\(folder)/.\(final[final.index(after: slash)...]).tmp-\(token ?? UUID().uuidString)"
        // One writer per token (a leftover of a crash under the same name is overwritten).
        let flags = O_WRONLY | O_CREAT | (token == nil ? O_EXCL : O_TRUNC)
        // The folder usually exists already: try the file first and create the folder only on ENOENT.
        var fd = open(temp, flags, 0o644)
        if fd < 0, errno == ENOENT {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw ResultStoreError(path: final, detail: "cannot create folder: \(error)")
            }
            fd = open(temp, flags, 0o644)
        }
        guard fd >= 0 else { throw ResultStoreError(path: temp, detail: "open failed: \(String(cString: strerror(errno)))") }
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        let writeError = writeAll(fd, bytes)
        if let writeError {
            close(fd)
            throw ResultStoreError(path: temp, detail: "write failed: \(String(cString: strerror(writeError)))")
        }
        guard !flush || fsync(fd) == 0 else {
            let e = errno
            close(fd)
            throw ResultStoreError(path: temp, detail: "fsync failed: \(String(cString: strerror(e)))")
        }
        close(fd)
        try rename(temp, to: final)
        ok = true
        if flush { syncFolder(URL(fileURLWithPath: folder, isDirectory: true)) }
    }

    /// Flushes every written file and rename to disk (`sync(2)`): one call per coordinator
    /// tick makes all results committed in the tick durable before the journal says done.
    @available(*, noasync)
    public func syncAll() {
        sync()
    }

    /// Moves a verified staging file (shared results) to its final name atomically.
    @available(*, noasync)
    public func promote(staging: String, to relativePath: String, fsync flush: Bool = true) throws(ResultStoreError) {
        let final = url(for: relativePath)
        try rename(url(for: staging).path, to: final.path)
        if flush { syncFolder(final.deletingLastPathComponent()) }
    }

    /// Deletes a staging file (a losing shared copy); missing is fine.
    @available(*, noasync)
    public func discard(staging: String) {
        unlink(url(for: staging).path)
    }

    /// Checks a file against its SHA-256.
    @available(*, noasync)
    public func verify(_ relativePath: String, sha256: String) -> ResultFileStatus {
        let path = url(for: relativePath).path
        guard FileManager.default.fileExists(atPath: path) else { return .missing }
        do {
            let actual = try Self.sha256(ofFile: path)
            return actual == sha256 ? .matches : .corrupt("SHA-256 \(actual.prefix(12))… differs from the journal's \(sha256.prefix(12))…")
        } catch {
            return .corrupt(error.description)
        }
    }

    /// SHA-256 of a file, streamed in 1 MiB blocks.
    @available(*, noasync)
    public static func sha256(ofFile path: String) throws(ResultStoreError) -> String {
        do { return try SHA256Hex.ofFile(URL(fileURLWithPath: path)).sha256 } catch {
            throw ResultStoreError(path: path, detail: error.reason)
        }
    }

    private func rename(_ from: String, to: String) throws(ResultStoreError) {
        guard Foundation.rename(from, to) == 0 else {
            throw ResultStoreError(path: to, detail: "rename from \(from) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Writes all of `bytes` to `fd`; the errno of a failed write, else `nil`.
    func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var written = 0
        return bytes.withUnsafeBytes { buffer -> Int32? in
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
    }

    func syncFolder(_ folder: URL) {
        let fd = open(folder.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

/// Reassembles chunked results per (worker, lease), bounded in memory.
struct ChunkAssembler {
    struct Key: Hashable {
        var worker: WorkerID
        var lease: LeaseID
    }

    struct Partial {
        var unit: UnitID
        var count: Int
        var chunks: [Int: [UInt8]] = [:]
        var bytes = 0
        var started: Double
    }

    var partials: [Key: Partial] = [:]
    var bufferedBytes = 0
    let maxBufferedBytes: Int
    let maxResultBytes: Int

    init(maxBufferedBytes: Int = 1 << 30, maxResultBytes: Int = 4 << 30) {
        self.maxBufferedBytes = maxBufferedBytes
        self.maxResultBytes = maxResultBytes
    }

    enum AddOutcome: Equatable { case stored, inconsistent(String) }

    /// Stores one chunk; evicts the oldest partial results when over the memory budget
    /// (their workers get `resend` at commit time).
    mutating func add(_ c: WireMessage.ResultChunk, payload: [UInt8], now: Double) -> AddOutcome {
        let key = Key(worker: c.worker, lease: c.lease)
        var p = partials[key] ?? Partial(unit: c.unit, count: c.count, started: now)
        guard p.unit == c.unit, p.count == c.count else {
            drop(key)
            return .inconsistent("chunk \(c.index)/\(c.count) does not match earlier chunks of lease \(c.lease)")
        }
        if let old = p.chunks[c.index] { p.bytes -= old.count; bufferedBytes -= old.count }
        guard p.bytes + payload.count <= maxResultBytes else {
            drop(key)
            return .inconsistent("result of lease \(c.lease) exceeds \(maxResultBytes) bytes")
        }
        p.chunks[c.index] = payload
        p.bytes += payload.count
        bufferedBytes += payload.count
        partials[key] = p
        while bufferedBytes > maxBufferedBytes, let oldest = partials.min(by: { $0.value.started < $1.value.started })?.key {
            drop(oldest)
        }
        return .stored
    }

    /// The whole result if every chunk arrived; removes it either way.
    mutating func take(worker: WorkerID, lease: LeaseID, unit: UnitID, chunks: Int) -> [UInt8]? {
        let key = Key(worker: worker, lease: lease)
        guard let p = partials[key] else { return nil }
        drop(key)
        guard p.unit == unit, p.count == chunks, p.chunks.count == chunks else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(p.bytes)
        for i in 0..<chunks {
            guard let c = p.chunks[i] else { return nil }
            out += c
        }
        return out
    }

    mutating func drop(_ key: Key) {
        if let p = partials.removeValue(forKey: key) { bufferedBytes -= p.bytes }
    }

    mutating func dropAll(worker: WorkerID) {
        for key in partials.keys where key.worker == worker { drop(key) }
    }
}
