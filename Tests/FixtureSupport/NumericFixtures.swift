import Foundation
import NeoX
import Tensor

/// Fixtures (`Tests/Fixtures`, copied from ../shared/fixtures) through the production readers
/// (`SafetensorsFile`, `NeoXCheckpoint`), shared by every test target that needs them.
public enum NumericFixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    public struct FixtureError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// A fixture tensor: the file and its name.
    public struct Entry {
        public let file: SafetensorsFile
        public let name: String
        public var shape: [Int] { file.entry(named: name)?.shape ?? [] }
    }

    /// Every tensor of a safetensors fixture, by name.
    public static func safetensors(_ relative: String) throws -> [String: Entry] {
        let file = try SafetensorsFile(url: root.appendingPathComponent(relative))
        return Dictionary(uniqueKeysWithValues: file.names.map { ($0, Entry(file: file, name: $0)) })
    }

    /// Float values of a float (F64/F32/F16/BF16) or integer/boolean tensor.
    public static func floats(_ e: Entry) -> [Float] {
        if let values = try? e.file.doubles(e.name) { return values.map(Float.init) }
        return ((try? e.file.integers(e.name)) ?? []).map(Float.init)
    }

    public static func doubles(_ e: Entry) -> [Double] { (try? e.file.doubles(e.name)) ?? [] }

    public static func ints(_ e: Entry) -> [Int] { (try? e.file.integers(e.name)) ?? [] }

    /// Loads a fixture folder under `models/` with the production loader and prepares it.
    public static func model(_ name: String) throws -> NeoXModel {
        let checkpoint = try NeoXCheckpoint.load(from: root.appendingPathComponent("models/\(name)"), hashContent: false)
        return try NeoXModel(checkpoint: consume checkpoint)
    }

    /// A JSON fixture, parsed.
    public static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(relative)))
    }

    /// A U8/BOOL mask tensor as booleans.
    public static func bools(_ e: Entry) -> [Bool] { ints(e).map { $0 != 0 } }
}
