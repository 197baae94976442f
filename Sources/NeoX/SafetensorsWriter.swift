import Foundation
import Tensor

/// Builds a safetensors file: tensors are laid out in insertion order, the JSON header is padded
/// with spaces to a multiple of 8 bytes (as huggingface/safetensors `serialize` does).
public struct SafetensorsWriter {
    private struct Item {
        var name: String
        var type: ElementType
        var shape: [Int]
        var bytes: Data
    }

    private var items: [Item] = []
    private var names: Set<String> = []
    /// Written as `__metadata__` when not empty.
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds a Float32 tensor (stored as F32, little-endian).
    public mutating func add(_ name: String, _ tensor: Tensor) throws {
        var bytes = Data(capacity: tensor.count * 4)
        for value in tensor.storage {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        try add(name, type: .f32, shape: tensor.shape, bytes: bytes)
    }

    /// Adds raw little-endian element bytes of any dtype.
    /// - Throws: `CheckpointError.tensorInvalid` if the name repeats or the byte count does not
    ///   match the shape.
    public mutating func add(_ name: String, type: ElementType, shape: [Int], bytes: Data) throws {
        guard !name.isEmpty, name != "__metadata__", names.insert(name).inserted else {
            throw CheckpointError.tensorInvalid(file: "<safetensors writer>", tensor: name, reason: "empty, reserved or repeated name")
        }
        guard shape.allSatisfy({ $0 >= 0 }),
              SafetensorsFile.checkedByteCount(shape: shape, elementSize: type.byteSize) == bytes.count
        else {
            throw CheckpointError.tensorInvalid(
                file: "<safetensors writer>", tensor: name, reason: "shape \(shape) of \(type.rawValue) does not match \(bytes.count) bytes")
        }
        items.append(Item(name: name, type: type, shape: shape, bytes: bytes))
    }

    /// The complete file contents.
    public func serialized() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for item in items {
            header[item.name] = [
                "dtype": item.type.rawValue, "shape": item.shape,
                "data_offsets": [offset, offset + item.bytes.count],
            ] as [String: Any]
            offset += item.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for item in items { out.append(item.bytes) }
        return out
    }

    /// Writes the file atomically.
    /// - Throws: `CheckpointError.unwritable` naming the path if it cannot be written.
    public func write(to url: URL) throws {
        let data = try serialized()
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw CheckpointError.unwritable(file: url.path, reason: error.localizedDescription)
        }
    }
}
