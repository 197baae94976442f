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

    /// Adds a Float32 tensor rounded to F16 or BF16 (round to nearest even), or as F32.
    public mutating func add(_ name: String, _ tensor: Tensor, as type: ElementType) throws {
        switch type {
        case .f32:
            try add(name, tensor)
        case .f16, .bf16:
            var bytes = Data(capacity: tensor.count * 2)
            for value in tensor.storage {
                let bits = type == .f16 ? ElementEncoding.halfBits(value) : ElementEncoding.bfloat16Bits(value)
                withUnsafeBytes(of: bits.littleEndian) { bytes.append(contentsOf: $0) }
            }
            try add(name, type: type, shape: tensor.shape, bytes: bytes)
        default:
            throw CheckpointError.unsupportedDType(file: "<safetensors writer>", tensor: name, dtype: type.rawValue)
        }
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

/// Float32 → 16-bit encodings, round to nearest even.
enum ElementEncoding {
    /// bfloat16: the upper 16 bits after rounding; NaN stays NaN.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// IEEE binary16 (overflow to ±∞, subnormals kept), the inverse of `ElementDecoding` up to rounding.
    static func halfBits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x0200 : 0) }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal or zero: shift the 24-bit significand right, rounding to nearest even.
            guard halfExponent >= -10 else { return sign }
            let significand = mantissa | 0x80_0000
            let shift = UInt32(14 - halfExponent)
            let halfway = UInt32(1) << (shift - 1)
            let remainder = significand & ((UInt32(1) << shift) - 1)
            var result = significand >> shift
            if remainder > halfway || (remainder == halfway && result & 1 == 1) { result += 1 }
            return sign | UInt16(result)
        }
        var result = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && result & 1 == 1) { result += 1 } // may carry into ∞: correct
        return sign | UInt16(result)
    }
}
