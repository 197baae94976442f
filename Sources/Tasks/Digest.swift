import Crypto
import Foundation

/// SHA-256 as lowercase hex, the content hash used for dataset and head-score identities.
public enum Digest {
    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
