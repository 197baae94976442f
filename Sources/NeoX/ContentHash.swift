import Checksum
import Foundation

/// Streamed SHA-256 of weight files, identifying a checkpoint's content.
public enum ContentHash {
    /// Lower-case hex SHA-256 of one file, read in 8 MiB blocks.
    /// - Throws: `CheckpointError.unreadable`.
    public static func sha256(ofFile url: URL) throws -> String {
        do { return try SHA256Hex.ofFile(url, blockSize: 8 << 20).sha256 } catch {
            throw CheckpointError.unreadable(file: url.path, reason: error.reason)
        }
    }

    /// The checkpoint hash of `files`: the file's own SHA-256 for one file, else the SHA-256 of
    /// `"<file name> <sha256>\n"` lines sorted by file name.
    public static func sha256(ofFiles files: [URL]) throws -> String {
        if files.count == 1 { return try sha256(ofFile: files[0]) }
        var lines: [String] = []
        for file in files {
            lines.append("\(file.lastPathComponent) \(try sha256(ofFile: file))\n")
        }
        return SHA256Hex.of(lines.sorted().joined())
    }
}
