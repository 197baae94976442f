import Foundation
import NeoX
import Tensor

/// Numeric fixtures through the production readers (`SafetensorsFile`, `NeoXCheckpoint`).
enum NumericFixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct FixtureError: Error, CustomStringConvertible { let description: String }

    /// A fixture tensor: the file and its name.
    struct Entry {
        let file: SafetensorsFile
        let name: String
        var shape: [Int] { file.entry(named: name)?.shape ?? [] }
    }

    /// Every tensor of a safetensors fixture, by name.
    static func safetensors(_ relative: String) throws -> [String: Entry] {
        let file = try SafetensorsFile(url: root.appendingPathComponent(relative))
        return Dictionary(uniqueKeysWithValues: file.names.map { ($0, Entry(file: file, name: $0)) })
    }

    /// Float values of a float (F64/F32/F16/BF16) or integer/boolean tensor.
    static func floats(_ e: Entry) -> [Float] {
        if let values = try? e.file.doubles(e.name) { return values.map(Float.init) }
        return ((try? e.file.integers(e.name)) ?? []).map(Float.init)
    }

    static func doubles(_ e: Entry) -> [Double] { (try? e.file.doubles(e.name)) ?? [] }

    static func ints(_ e: Entry) -> [Int] { (try? e.file.integers(e.name)) ?? [] }

    /// Loads a fixture folder under `models/` with the production loader and prepares it.
    static func model(_ name: String) throws -> NeoXModel {
        let checkpoint = try NeoXCheckpoint.load(from: root.appendingPathComponent("models/\(name)"), hashContent: false)
        return try NeoXModel(checkpoint: consume checkpoint)
    }
}
