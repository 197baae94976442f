import Foundation
@testable import NeoX
import Tensor
import Testing

/// Paths of the shared fixtures (Tests/Fixtures, see its README).
enum LoaderFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func model(_ name: String) -> URL {
        root.appendingPathComponent("models").appendingPathComponent(name)
    }

    static func forward(_ name: String) -> URL {
        root.appendingPathComponent("forward").appendingPathComponent("\(name).safetensors")
    }

    /// Every tensor of a loaded checkpoint by its HF name, for comparisons.
    static func namedTensors(_ weights: NeoXWeights) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: weights.namedTensors().map { ($0.name, $0.tensor) })
    }

    /// A fresh temporary folder; the caller removes it.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("neox-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension LoaderFixtures {
    /// Copies a fixture model folder into a fresh temporary folder (the copy is named `model`).
    static func copyModel(_ name: String) throws -> (root: URL, model: URL) {
        let root = try temporaryDirectory()
        let model = root.appendingPathComponent("model")
        try FileManager.default.copyItem(at: self.model(name), to: model)
        return (root, model)
    }

    /// The error `body` throws, or nil.
    static func error<E: Error>(_: E.Type, _ body: () throws -> Void) -> E? {
        do {
            try body()
            return nil
        } catch let error as E {
            return error
        } catch {
            return nil
        }
    }
}

/// A safetensors file as an editable JSON header plus its untouched data buffer, for building
/// broken or renamed variants of the fixtures.
struct RawSafetensors {
    var header: [String: Any]
    var payload: Data

    init(url: URL) throws {
        let data = try Data(contentsOf: url)
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        payload = data.subdata(in: (8 + length)..<data.count)
    }

    func entry(_ name: String) throws -> [String: Any] {
        try #require(header[name] as? [String: Any], "no tensor \(name)")
    }

    mutating func rename(_ name: String, to newName: String) throws {
        header[newName] = try entry(name)
        header[name] = nil
    }

    mutating func set(_ name: String, _ key: String, _ value: Any) throws {
        var entry = try entry(name)
        entry[key] = value
        header[name] = entry
    }

    func serialized(headerLengthOverride: UInt64? = nil) throws -> Data {
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var out = Data()
        withUnsafeBytes(of: (headerLengthOverride ?? UInt64(json.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(payload)
        return out
    }

    func write(to url: URL) throws {
        try serialized().write(to: url)
    }
}
