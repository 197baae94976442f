import CZeroMQ

/// Why a Z85 text or a CURVE key was rejected. Messages never echo key material.
public enum CurveKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Z85 encodes 4-byte groups: the input was `count` bytes.
    case z85InputNotMultipleOfFour(count: Int)
    /// Z85 text comes in 5-character groups: the text was `count` characters.
    case z85TextNotMultipleOfFive(count: Int)
    /// The character at `offset` (0-based) is not in the Z85 alphabet.
    case invalidZ85Character(offset: Int)
    /// A 5-character group encodes a value above 2³²−1.
    case z85GroupOutOfRange(group: Int)
    /// A CURVE key must be 32 bytes (40 Z85 characters); got `count` bytes.
    case wrongKeyLength(count: Int)

    public var description: String {
        switch self {
        case .z85InputNotMultipleOfFour(let count):
            "Z85 can only encode a multiple of 4 bytes, got \(count)"
        case .z85TextNotMultipleOfFive(let count):
            "Z85 text must be a multiple of 5 characters, got \(count)"
        case .invalidZ85Character(let offset):
            "character \(offset + 1) is not a Z85 character"
        case .z85GroupOutOfRange(let group):
            "Z85 group \(group + 1) encodes a value larger than 32 bits"
        case .wrongKeyLength(let count):
            "a CURVE key is 32 bytes (40 Z85 characters), got \(count) bytes"
        }
    }
}

/// ZeroMQ's Z85 text encoding (RFC 32), as used for CURVE keys. Wraps `zmq_z85_encode` /
/// `zmq_z85_decode`, validating input first so errors say what is wrong.
public enum Z85 {
    /// The 85-character alphabet, in value order.
    public static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
    private static let values: [UInt8: UInt32] = Dictionary(
        uniqueKeysWithValues: alphabet.enumerated().map { ($0.element, UInt32($0.offset)) })

    /// Encodes `bytes` (a multiple of 4 long) as Z85 text. Mirrors `zmq_z85_encode`.
    /// - Throws: ``CurveKeyError/z85InputNotMultipleOfFour(count:)``.
    public static func encode(_ bytes: [UInt8]) throws(CurveKeyError) -> String {
        guard bytes.count % 4 == 0 else { throw .z85InputNotMultipleOfFour(count: bytes.count) }
        if bytes.isEmpty { return "" }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        let ok = text.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { zmq_z85_encode(out.baseAddress, $0.baseAddress, $0.count) != nil }
        }
        precondition(ok, "zmq_z85_encode rejected a validated input")
        return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes Z85 `text` (a multiple of 5 characters). Mirrors `zmq_z85_decode`.
    /// - Throws: ``CurveKeyError`` naming the bad length, character or group.
    public static func decode(_ text: String) throws(CurveKeyError) -> [UInt8] {
        let characters = Array(text.utf8)
        guard characters.count % 5 == 0 else { throw .z85TextNotMultipleOfFive(count: characters.count) }
        for group in 0..<characters.count / 5 {
            var value: UInt64 = 0
            for offset in group * 5..<group * 5 + 5 {
                guard let digit = values[characters[offset]] else { throw .invalidZ85Character(offset: offset) }
                value = value * 85 + UInt64(digit)
            }
            if value > UInt64(UInt32.max) { throw .z85GroupOutOfRange(group: group) }
        }
        if characters.isEmpty { return [] }
        var bytes = [UInt8](repeating: 0, count: characters.count / 5 * 4)
        let ok = bytes.withUnsafeMutableBufferPointer { out in
            text.withCString { zmq_z85_decode(out.baseAddress, $0) != nil }
        }
        precondition(ok, "zmq_z85_decode rejected a validated input")
        return bytes
    }
}

/// A CURVE public key (32 bytes). Safe to print, log and share.
public struct CurvePublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The raw key.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes.
    /// - Throws: ``CurveKeyError/wrongKeyLength(count:)``.
    public init(bytes: [UInt8]) throws(CurveKeyError) {
        guard bytes.count == 32 else { throw .wrongKeyLength(count: bytes.count) }
        self.bytes = bytes
    }

    /// Parses a 40-character Z85 key.
    /// - Throws: ``CurveKeyError``.
    public init(z85: String) throws(CurveKeyError) {
        try self.init(bytes: Z85.decode(z85))
    }

    /// The key as 40 Z85 characters (the form used in key files, allow-lists, logs and as
    /// the ZAP `User-Id`).
    public var z85: String {
        // 32 bytes is a multiple of 4, so encoding cannot fail.
        (try? Z85.encode(bytes)) ?? ""
    }

    public var description: String { z85 }
}

/// A CURVE secret key (32 bytes). Its `description` is redacted; use ``z85`` only to
/// write a key file.
public struct CurveSecretKey: Sendable, Hashable, CustomStringConvertible {
    /// The raw key.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes.
    /// - Throws: ``CurveKeyError/wrongKeyLength(count:)``.
    public init(bytes: [UInt8]) throws(CurveKeyError) {
        guard bytes.count == 32 else { throw .wrongKeyLength(count: bytes.count) }
        self.bytes = bytes
    }

    /// Parses a 40-character Z85 key.
    public init(z85: String) throws(CurveKeyError) {
        try self.init(bytes: Z85.decode(z85))
    }

    /// The key as 40 Z85 characters. Secret: write it only to a mode-0600 file.
    public var z85: String { (try? Z85.encode(bytes)) ?? "" }

    public var description: String { "CurveSecretKey(<redacted>)" }

    /// Derives the matching public key. Mirrors `zmq_curve_public`.
    /// - Throws: ``ZMQError`` when libzmq lacks CURVE support (`ENOTSUP`).
    public func publicKey() throws(ZMQError) -> CurvePublicKey {
        var publicText = [CChar](repeating: 0, count: 41)
        let secretText = z85
        try Funnel.call("zmq_curve_public") {
            publicText.withUnsafeMutableBufferPointer { out in
                secretText.withCString { zmq_curve_public(out.baseAddress, $0) }
            }
        }
        return try Self.publicKey(fromZ85: publicText, operation: "zmq_curve_public")
    }

    static func publicKey(fromZ85 text: [CChar], operation: String) throws(ZMQError) -> CurvePublicKey {
        let string = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            return try CurvePublicKey(z85: string)
        } catch {
            throw Funnel.invalid("\(operation) returned an invalid key (\(error))")
        }
    }
}

/// A CURVE key pair: a public key to share and its secret key.
public struct CurveKeyPair: Sendable, Hashable {
    /// The shareable half.
    public let publicKey: CurvePublicKey
    /// The secret half.
    public let secretKey: CurveSecretKey

    /// Pairs a secret key with its public key, deriving the public key with `zmq_curve_public`.
    public init(secretKey: CurveSecretKey) throws(ZMQError) {
        self.secretKey = secretKey
        self.publicKey = try secretKey.publicKey()
    }

    /// Pairs keys already known to match (checked).
    /// - Throws: ``ZMQError`` with `EINVAL` when `publicKey` does not belong to `secretKey`.
    public init(publicKey: CurvePublicKey, secretKey: CurveSecretKey) throws(ZMQError) {
        guard try secretKey.publicKey() == publicKey else {
            throw Funnel.invalid("CurveKeyPair: the public key does not match the secret key")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// Generates a fresh key pair from libsodium's random source. Mirrors `zmq_curve_keypair`.
    /// - Throws: ``ZMQError`` (`ENOTSUP` when libzmq was built without CURVE).
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        try Funnel.call("zmq_curve_keypair") {
            publicText.withUnsafeMutableBufferPointer { publicOut in
                secretText.withUnsafeMutableBufferPointer { zmq_curve_keypair(publicOut.baseAddress, $0.baseAddress) }
            }
        }
        let publicKey = try CurveSecretKey.publicKey(fromZ85: publicText, operation: "zmq_curve_keypair")
        let secretString = String(decoding: secretText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let secretKey: CurveSecretKey
        do {
            secretKey = try CurveSecretKey(z85: secretString)
        } catch {
            throw Funnel.invalid("zmq_curve_keypair returned an invalid secret key (\(error))")
        }
        return try CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
    }

    /// Whether this libzmq supports CURVE (`zmq_has("curve")`).
    public static var isSupported: Bool { zmq_has("curve") != 0 }
}
