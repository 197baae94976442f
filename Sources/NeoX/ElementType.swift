/// Element types of stored tensors, named as in the safetensors header.
///
/// Torch storages (`torch.FloatStorage`, …) map onto the same cases, so both file formats share the
/// up-cast code.
public enum ElementType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: 1
        }
    }

    /// Whether the loader accepts this type for model weights (up-cast to Float32 once).
    public var isWeightType: Bool {
        self == .f32 || self == .f16 || self == .bf16
    }
}

/// Conversions of raw little-endian element bytes into Float32; exact for F32, F16 and BF16.
enum ElementDecoding {
    /// IEEE binary16 → binary32, exact (every half value is representable as a float).
    @inline(__always)
    static func float(fromHalfBits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2⁻²⁴, exact in binary32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// bfloat16 → binary32: the stored bits are the upper half of the float.
    @inline(__always)
    static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Every binary16 bit pattern decoded once (256 KiB): the F16 up-cast is one table load per element.
    static let halfTable: [Float] = (0...UInt16.max).map(float(fromHalfBits:))

    /// Decodes `count` elements of `type` starting at `bytes` into Float32.
    ///
    /// - Precondition: `bytes` holds at least `count · type.byteSize` bytes and `type.isWeightType`
    ///   (callers validate both against the file first).
    static func floats(_ bytes: UnsafeRawBufferPointer, type: ElementType, count: Int) -> ContiguousArray<Float> {
        ContiguousArray<Float>(unsafeUninitializedCapacity: count) { out, initialized in
            if let target = out.baseAddress { decode(bytes, type: type, count: count, into: target) }
            initialized = count
        }
    }

    /// Decodes `count` elements into `out`; same precondition as `floats`.
    static func decode(_ bytes: UnsafeRawBufferPointer, type: ElementType, count: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(bytes.count >= count * type.byteSize && type.isWeightType, "caller validated the tensor")
        guard count > 0, let source = bytes.baseAddress else { return }
        switch type {
        case .f32:
            #if _endian(little)
            UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: count * 4)
            #else
            for i in 0..<count {
                out[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
            #endif
        case .f16:
            halfTable.withUnsafeBufferPointer { table in
                for i in 0..<count {
                    out[i] = table[Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))]
                }
            }
        case .bf16:
            for i in 0..<count {
                out[i] = float(fromBFloat16Bits: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        default:
            break
        }
    }
}
