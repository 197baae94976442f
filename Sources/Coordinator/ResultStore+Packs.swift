import Checksum
import Foundation
import Sweep

/// Result packs (`schemas/result-packs.md`): one file holding many small results of a group
/// commit, each until the result's own file is written.
extension ResultStore {
    /// One result to pack.
    struct PackEntry: Sendable {
        var resultPath: String
        var sha256: String
        var bytes: [UInt8]
    }

    static let packMagic = Array("CSWPACK1".utf8)
    static let entryMagic = Array("CSWE".utf8)

    var packFolder: String { root.path + "/" + PackedResult.folder }

    /// The bytes of one or more entries as they are appended to a pack whose end is at
    /// `offset`, and each entry's location.
    static func encodeEntries(_ entries: [PackEntry], pack: String, at offset: Int) -> ([UInt8], [PackedResult]) {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(entries.reduce(0) { $0 + 48 + $1.resultPath.utf8.count + $1.bytes.count })
        var locations: [PackedResult] = []
        locations.reserveCapacity(entries.count)
        for entry in entries {
            let pathBytes = Array(entry.resultPath.utf8)
            buffer += entryMagic
            buffer += littleEndianBytes(UInt32(pathBytes.count))
            buffer += littleEndianBytes(UInt64(entry.bytes.count))
            buffer += SHA256Hex.rawBytes(entry.sha256) ?? [UInt8](repeating: 0, count: 32)
            buffer += pathBytes
            locations.append(PackedResult(pack: pack, offset: offset + buffer.count, length: entry.bytes.count))
            buffer += entry.bytes
        }
        return (buffer, locations)
    }

    /// The bytes of a packed result.
    @available(*, noasync)
    func read(_ location: PackedResult) throws(ResultStoreError) -> [UInt8] {
        let path = packPath(location.pack)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ResultStoreError(path: path, detail: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: location.length)
        var done = 0
        while done < location.length {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, location.length - done, off_t(location.offset + done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw ResultStoreError(path: path, detail: n == 0
                    ? "ends before the result at bytes \(location.offset)..<\(location.offset + location.length) (truncated pack)"
                    : "read failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        return bytes
    }

    /// Checks a packed result against its SHA-256; with `quick`, only that the pack holds its bytes.
    @available(*, noasync)
    func verify(_ location: PackedResult, sha256: String, quick: Bool = false) -> ResultFileStatus {
        let path = packPath(location.pack)
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        guard Int(info.st_size) >= location.offset + location.length else {
            return .corrupt("pack \(location.pack) is \(info.st_size) bytes, too short for the result at \(location.offset)")
        }
        if quick { return .matches }
        do {
            let actual = SHA256Hex.of(try read(location))
            return actual == sha256 ? .matches
                : .corrupt("SHA-256 \(actual.prefix(12))… of its bytes in pack \(location.pack) differs from the journal's \(sha256.prefix(12))…")
        } catch {
            return .corrupt(error.description)
        }
    }

    /// A done unit's result, wherever it is: its pack segment while it has one, else its file.
    @available(*, noasync)
    public func verify(_ relativePath: String, sha256: String, packed: PackedResult?, quick: Bool = false) -> ResultFileStatus {
        if let packed { return verify(packed, sha256: sha256, quick: quick) }
        if quick { return FileManager.default.fileExists(atPath: path(for: relativePath)) ? .matches : .missing }
        return verify(relativePath, sha256: sha256)
    }

    /// Deletes a pack none of whose results is needed any more; missing is fine.
    @available(*, noasync)
    func removePack(_ name: String) {
        unlink(packPath(name))
    }

    /// The names of the packs on disk.
    func packNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: packFolder)) ?? []).filter(PackedResult.isValidName)
    }

    func packPath(_ name: String) -> String { packFolder + "/" + name }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
