import Foundation

/// Locates `Tests/Fixtures` relative to this source file.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(relative)))
    }
}

/// Reads the small F32/F64/I64/U8 tensors of a fixture `.safetensors` file (tests only).
struct FixtureTensors {
    private let data: Data
    private let header: [String: [String: Any]]
    private let base: Int

    init(_ relative: String) throws {
        data = try Data(contentsOf: Fixtures.url(relative))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length)))
        header = (json as? [String: Any] ?? [:]).compactMapValues { $0 as? [String: Any] }
        base = 8 + length
    }

    private func bytes(_ key: String) -> (dtype: String, shape: [Int], raw: Data)? {
        guard let entry = header[key], let dtype = entry["dtype"] as? String,
              let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int] else { return nil }
        return (dtype, shape, data.subdata(in: (base + offsets[0])..<(base + offsets[1])))
    }

    func floats(_ key: String) -> [Float]? {
        guard let (dtype, _, raw) = bytes(key), dtype == "F32" else { return nil }
        return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func doubles(_ key: String) -> [Double]? {
        guard let (dtype, _, raw) = bytes(key), dtype == "F64" else { return nil }
        return raw.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    func bools(_ key: String) -> [Bool]? {
        guard let (dtype, _, raw) = bytes(key), dtype == "U8" || dtype == "BOOL" else { return nil }
        return raw.map { $0 != 0 }
    }

    func shape(_ key: String) -> [Int]? { bytes(key)?.shape }
}
