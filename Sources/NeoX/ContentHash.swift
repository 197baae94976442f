import Crypto
import Foundation

/// Streamed SHA-256 of weight files, identifying a checkpoint's content.
public enum ContentHash {
    /// Chunk size of the streamed read.
    static let chunkSize = 8 << 20

    /// Lower-case hex SHA-256 of one file, read in 8 MiB chunks.
    /// - Throws: `CheckpointError.unreadable`.
    public static func sha256(ofFile url: URL) throws -> String {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw CheckpointError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: chunkSize)
            } catch {
                throw CheckpointError.unreadable(file: url.path, reason: error.localizedDescription)
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    /// The checkpoint hash of `files`: the file's own SHA-256 for one file, else the SHA-256 of
    /// `"<file name> <sha256>\n"` lines sorted by file name.
    public static func sha256(ofFiles files: [URL]) throws -> String {
        if files.count == 1 { return try sha256(ofFile: files[0]) }
        var lines: [String] = []
        for file in files {
            lines.append("\(file.lastPathComponent) \(try sha256(ofFile: file))\n")
        }
        return hex(SHA256.hash(data: Data(lines.sorted().joined().utf8)))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
