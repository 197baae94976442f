/// GPT-2's reversible byte ↔ printable-character table (`bytes_to_unicode` in OpenAI's
/// `encoder.py`, `CHAR_BYTES`/`BYTES_CHAR` in HF tokenizers' `byte_level.rs`).
///
/// Printable Latin-1 bytes map to themselves; the 68 others (controls, space, 0x7F–0xA0, 0xAD)
/// map to U+0100 onwards in byte order, so space becomes "Ġ" and newline "Ċ".
enum ByteLevel {
    /// `scalars[b]` is the character standing for byte `b`.
    static let scalars: [Unicode.Scalar] = {
        var printable = Set<UInt8>()
        for b in UInt8(ascii: "!")...UInt8(ascii: "~") { printable.insert(b) }
        for b in UInt8(0xA1)...UInt8(0xAC) { printable.insert(b) }
        for b in UInt8(0xAE)...UInt8(0xFF) { printable.insert(b) }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if printable.contains(UInt8(b)) {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                // 256 + n stays below 0x200, always a valid scalar.
                table[b] = Unicode.Scalar(next).unsafelyUnwrapped
                next += 1
            }
        }
        return table
    }()

    /// Inverse of `scalars`.
    static let bytes: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (b, scalar) in scalars.enumerated() { inverse[scalar] = UInt8(b) }
        return inverse
    }()

    /// The byte-level form of raw bytes (the vocabulary's spelling).
    static func string<S: Sequence>(of raw: S) -> String where S.Element == UInt8 {
        var result = String.UnicodeScalarView()
        for b in raw { result.append(scalars[Int(b)]) }
        return String(result)
    }

    /// Bytes of a vocabulary token, as HF's ByteLevel decoder produces them: each character mapped
    /// back to its byte, or — when any character is outside the table (added tokens such as space
    /// runs) — the token's own UTF-8 bytes.
    static func decodedBytes(of token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let b = bytes[scalar] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}

/// The byte-level character standing for `byte` in a byte-level BPE vocabulary ("Ġ" for a space).
public func byteLevelCharacter(_ byte: UInt8) -> Unicode.Scalar { ByteLevel.scalars[Int(byte)] }
