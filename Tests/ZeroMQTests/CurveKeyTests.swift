import Foundation
import Testing
@testable import ZeroMQ

@Suite("CURVE keys, Z85 and key files")
struct CurveKeyTests {
    @Test("Z85 matches the RFC 32 test vector and round trips")
    func z85Vector() throws {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(try Z85.encode(bytes) == "HelloWorld")
        #expect(try Z85.decode("HelloWorld") == bytes)
        #expect(try Z85.encode([]) == "")
        #expect(throws: CurveKeyError.z85InputNotMultipleOfFour(count: 3)) { try Z85.encode([1, 2, 3]) }
        #expect(throws: CurveKeyError.z85TextNotMultipleOfFive(count: 4)) { try Z85.decode("abcd") }
        #expect(throws: CurveKeyError.invalidZ85Character(offset: 2)) { try Z85.decode("ab cd") }
        #expect(throws: CurveKeyError.z85GroupOutOfRange(group: 0)) { try Z85.decode("#####") }
    }

    @Test("key pairs: generate, derive public from secret, parse Z85")
    func keyPairs() throws {
        #expect(CurveKeyPair.isSupported)
        #expect(ZeroMQLibrary.has("curve"))
        #expect(ZeroMQLibrary.version.major == 4)
        #expect(ZeroMQLibrary.versionString.hasPrefix("4."))
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.z85.count == 40)
        #expect(try pair.secretKey.publicKey() == pair.publicKey)
        #expect(try CurveKeyPair(secretKey: pair.secretKey) == pair)
        #expect(try CurvePublicKey(z85: pair.publicKey.z85) == pair.publicKey)
        #expect(!"\(pair.secretKey)".contains(pair.secretKey.z85))
        let other = try CurveKeyPair.generate()
        #expect(other != pair)
        #expect(throws: ZMQError.self) { try CurveKeyPair(publicKey: other.publicKey, secretKey: pair.secretKey) }
        #expect(throws: CurveKeyError.wrongKeyLength(count: 4)) { try CurvePublicKey(z85: "HelloWorld".prefix(5) + "") }
    }

    @Test("key files round trip; secrets are written with mode 0600")
    func keyFilesRoundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let pair = try CurveKeyPair.generate()
        let keyFile = directory.url.appendingPathComponent("node.key")
        let pubFile = directory.url.appendingPathComponent("node.pub")
        try CurveKeyFile.write(pair, to: keyFile)
        try CurveKeyFile.write(pair.publicKey, to: pubFile)
        #expect(try CurveKeyFile.readKeyPair(at: keyFile) == pair)
        #expect(try CurveKeyFile.readPublicKey(at: pubFile) == pair.publicKey)
        #expect(try CurveKeyFile.readPublicKey(at: keyFile) == pair.publicKey)
        let mode = try FileManager.default.attributesOfItem(atPath: keyFile.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: KeyFileError.alreadyExists(path: keyFile.path)) { try CurveKeyFile.write(pair, to: keyFile) }
        #expect(!(try String(contentsOf: pubFile, encoding: .utf8)).contains(pair.secretKey.z85))
    }

    @Test("malformed key files name the file and line")
    func malformedKeyFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let pair = try CurveKeyPair.generate()
        let other = try CurveKeyPair.generate()
        func write(_ text: String) throws -> URL {
            let url = directory.url.appendingPathComponent("bad-\(UUID().uuidString.prefix(6)).key")
            try text.write(to: url, atomically: false, encoding: .utf8)
            return url
        }
        let short = try write("# c\npublic-key = abc\nsecret-key = \(pair.secretKey.z85)\n")
        #expect(throws: KeyFileError.self) { try CurveKeyFile.readKeyPair(at: short) }
        do {
            _ = try CurveKeyFile.readKeyPair(at: short)
        } catch {
            guard case .malformedLine(let path, let line, _) = error else { Issue.record("\(error)"); return }
            #expect(path == short.path)
            #expect(line == 2)
            #expect(error.description.hasPrefix("\(short.path):2:"))
        }
        let mismatch = try write("public-key = \(other.publicKey.z85)\nsecret-key = \(pair.secretKey.z85)\n")
        #expect(throws: KeyFileError.keyMismatch(path: mismatch.path)) { try CurveKeyFile.readKeyPair(at: mismatch) }
        let missing = try write("public-key = \(pair.publicKey.z85)\n")
        #expect(throws: KeyFileError.missingField(path: missing.path, field: "secret-key")) {
            try CurveKeyFile.readKeyPair(at: missing)
        }
        let unknown = try write("public-key = \(pair.publicKey.z85)\ncolour = blue\n")
        #expect(throws: KeyFileError.self) { try CurveKeyFile.readPublicKey(at: unknown) }
        let absent = directory.url.appendingPathComponent("absent.key")
        #expect(throws: KeyFileError.self) { try CurveKeyFile.readKeyPair(at: absent) }
    }

    @Test("allow-list parsing: comments, inline comments, errors with file and line")
    func allowListParsing() throws {
        let a = try CurveKeyPair.generate().publicKey
        let b = try CurveKeyPair.generate().publicKey
        // No valid key starts with '#' (digit 84 overflows a 32-bit group), so '#' lines
        // are unambiguous comments.
        #expect(throws: CurveKeyError.z85GroupOutOfRange(group: 0)) {
            try CurvePublicKey(z85: "#" + String(repeating: "0", count: 39))
        }
        let text = """
            # workers
            \(a.z85)
              \(b.z85)   # worker-002

            #\(a.z85)
            """
        let list = try CurveAllowList.parse(text, path: "workers.allow")
        #expect(list == CurveAllowList([a, b]))

        let rendered = CurveAllowList.render(header: "header\nline two", entries: [(a, "w1"), (b, nil)])
        #expect(try CurveAllowList.parse(rendered, path: "x") == CurveAllowList([a, b]))

        #expect(throws: KeyFileError.malformedLine(
            path: "w.allow", line: 3,
            reason: "expected a 40-character Z85 CURVE public key, found 5 characters")) {
            try CurveAllowList.parse("# ok\n\(a.z85)\nshort\n", path: "w.allow")
        }
        #expect(throws: KeyFileError.malformedLine(
            path: "w.allow", line: 1, reason: "unexpected text after the key (comments must start with '#')")) {
            try CurveAllowList.parse("\(a.z85) trailing\n", path: "w.allow")
        }
        let outOfRange = String(repeating: "%", count: 40)
        #expect(throws: KeyFileError.self) { try CurveAllowList.parse(outOfRange, path: "w.allow") }
    }

    @Test("key set generation writes coordinator, workers and the allow-list")
    func keySetGeneration() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        let out = directory.url.appendingPathComponent("keys")
        let set = try CurveKeySet.generate(in: out, coordinatorName: "hub", workerCount: 3)
        #expect(set.workerKeyFiles.map(\.lastPathComponent) == ["worker-001.key", "worker-002.key", "worker-003.key"])
        let coordinator = try CurveKeyFile.readKeyPair(at: set.coordinatorKeyFile)
        #expect(coordinator.publicKey == set.coordinatorPublicKey)
        #expect(try CurveKeyFile.readPublicKey(at: set.coordinatorPublicKeyFile) == set.coordinatorPublicKey)
        let allow = try CurveAllowList(contentsOf: set.allowListFile)
        #expect(allow == CurveAllowList(set.workerPublicKeys))
        for (keyFile, publicKey) in zip(set.workerKeyFiles, set.workerPublicKeys) {
            #expect(try CurveKeyFile.readKeyPair(at: keyFile).publicKey == publicKey)
            let mode = try FileManager.default.attributesOfItem(atPath: keyFile.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        let coordinatorMode = try FileManager.default.attributesOfItem(atPath: set.coordinatorKeyFile.path)[.posixPermissions] as? Int
        #expect(coordinatorMode == 0o600)
        // No silent overwrite.
        #expect(throws: KeyFileError.self) { try CurveKeySet.generate(in: out, coordinatorName: "hub", workerCount: 1) }
        #expect(throws: KeyFileError.self) { try CurveKeySet.generate(in: out, coordinatorName: "../evil", workerCount: 1) }
        #expect(CurveKeySet.isValidName("coordinator"))
        #expect(!CurveKeySet.isValidName(".hidden"))
    }
}
