import Crypto
import Foundation

/// SHA-256 as 64 lowercase hex digits: the one content hash of datasets, checkpoints, unit
/// ids, result files and wire payloads.
public enum SHA256Hex {
    /// The digest of `bytes`.
    public static func of(_ bytes: some DataProtocol) -> String { SHA256.hash(data: bytes).hexString }

    /// The digest of a string's UTF-8 bytes.
    public static func of(_ text: String) -> String { of(Data(text.utf8)) }

    /// True for 64 lowercase hex digits.
    public static func isValid(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// The 32 raw bytes of a digest given as hex (`nil` unless ``isValid(_:)``).
    public static func rawBytes(_ s: String) -> [UInt8]? {
        guard isValid(s) else { return nil }
        let digits = Array(s.utf8).map { $0 >= 97 ? $0 - 87 : $0 - 48 }
        return stride(from: 0, to: 64, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// A file's digest and size, read in `blockSize` blocks.
    /// - Throws: ``FileDigestError`` naming the file and whether opening or reading failed.
    public static func ofFile(_ url: URL, blockSize: Int = 1 << 20) throws(FileDigestError) -> FileDigest {
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw FileDigestError(file: url.path, reason: "cannot open for hashing: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var byteCount = 0
        do {
            while let block = try handle.read(upToCount: blockSize), !block.isEmpty {
                hasher.update(data: block)
                byteCount += block.count
            }
        } catch {
            throw FileDigestError(file: url.path, reason: "read failed while hashing: \(error.localizedDescription)")
        }
        return FileDigest(sha256: hasher.finalize().hexString, byteCount: byteCount)
    }
}

/// A file's SHA-256 (lowercase hex) and its size in bytes.
public struct FileDigest: Sendable, Equatable {
    public let sha256: String
    public let byteCount: Int
}

/// Why a file could not be hashed.
public struct FileDigestError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let reason: String

    public var description: String { "\(file): \(reason)" }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Crypto.Digest {
    /// Lowercase hex.
    public var hexString: String { Array(self).hexString }
}
