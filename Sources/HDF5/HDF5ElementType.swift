import CHDF5

/// The element types this wrapper stores and reads. Numbers are stored little-endian
/// (`H5T_IEEE_F32LE`, `H5T_STD_I64LE`, …); strings as variable-length UTF-8 (`H5T_C_S1`,
/// `H5T_VARIABLE`, `H5T_CSET_UTF8`), which h5py reads as `str` (attributes) or via
/// `dataset.asstr()[...]` (datasets).
public enum HDF5ElementType: String, Sendable, Equatable, CaseIterable {
    case float32, float64, int32, int64, uint8, string

    /// Type id for the in-memory buffer. Call with the HDF5 lock held.
    var memoryType: hid_t {
        switch self {
        case .float32: return ch5_native_float()
        case .float64: return ch5_native_double()
        case .int32: return ch5_native_int32()
        case .int64: return ch5_native_int64()
        case .uint8: return ch5_native_uint8()
        case .string: return ch5_c_s1()
        }
    }

    /// Type id stored in the file. Call with the HDF5 lock held.
    var fileType: hid_t {
        switch self {
        case .float32: return ch5_ieee_f32le()
        case .float64: return ch5_ieee_f64le()
        case .int32: return ch5_std_i32le()
        case .int64: return ch5_std_i64le()
        case .uint8: return ch5_std_u8le()
        case .string: return ch5_c_s1()
        }
    }

    var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .uint8: return 1
        case .string: return MemoryLayout<UnsafePointer<CChar>>.size
        }
    }
}

/// A number type that maps one-to-one onto an HDF5 element type.
public protocol HDF5Numeric: Sendable, Equatable {
    static var hdf5ElementType: HDF5ElementType { get }
    /// The value used to fill a fresh buffer before a read.
    static var hdf5Zero: Self { get }
}

extension Float: HDF5Numeric {
    public static var hdf5ElementType: HDF5ElementType { .float32 }
    public static var hdf5Zero: Float { 0 }
}
extension Double: HDF5Numeric {
    public static var hdf5ElementType: HDF5ElementType { .float64 }
    public static var hdf5Zero: Double { 0 }
}
extension Int32: HDF5Numeric {
    public static var hdf5ElementType: HDF5ElementType { .int32 }
    public static var hdf5Zero: Int32 { 0 }
}
extension Int64: HDF5Numeric {
    public static var hdf5ElementType: HDF5ElementType { .int64 }
    public static var hdf5Zero: Int64 { 0 }
}
extension UInt8: HDF5Numeric {
    public static var hdf5ElementType: HDF5ElementType { .uint8 }
    public static var hdf5Zero: UInt8 { 0 }
}

/// A stored type, described for error messages and checked against the requested one.
/// Call with the HDF5 lock held.
enum HDF5TypeCheck {
    /// "float32", "int64", "uint16", "variable-length string", "fixed-length string (12 bytes)", …
    static func describe(_ type: hid_t) -> String {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT: return "float\(size * 8)"
        case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
        case H5T_STRING:
            return H5Tis_variable_str(type) > 0 ? "variable-length string" : "fixed-length string (\(size) bytes)"
        case H5T_COMPOUND: return "compound"
        case H5T_ENUM: return "enum"
        case H5T_ARRAY: return "array type"
        case H5T_VLEN: return "variable-length sequence"
        case H5T_OPAQUE: return "opaque"
        case H5T_BITFIELD: return "bitfield"
        case H5T_REFERENCE: return "reference"
        default: return "unknown type"
        }
    }

    /// Whether a stored type is exactly the requested element type (class, size and sign).
    static func matches(_ type: hid_t, _ element: HDF5ElementType) -> Bool {
        let size = H5Tget_size(type)
        let typeClass = H5Tget_class(type)
        switch element {
        case .float32: return typeClass == H5T_FLOAT && size == 4
        case .float64: return typeClass == H5T_FLOAT && size == 8
        case .int32: return typeClass == H5T_INTEGER && size == 4 && H5Tget_sign(type) == H5T_SGN_2
        case .int64: return typeClass == H5T_INTEGER && size == 8 && H5Tget_sign(type) == H5T_SGN_2
        case .uint8: return typeClass == H5T_INTEGER && size == 1 && H5Tget_sign(type) == H5T_SGN_NONE
        case .string: return typeClass == H5T_STRING && H5Tis_variable_str(type) > 0
        }
    }

    /// A fresh variable-length UTF-8 string type. Caller owns it.
    static func makeStringType(_ context: HDF5Context) throws -> HDF5Handle {
        let type = try HDF5Handle.make(H5Tcopy(ch5_c_s1()), .datatype, "H5Tcopy", context)
        try HDF5Call.status(H5Tset_size(type.id, ch5_variable()), "H5Tset_size", context)
        try HDF5Call.status(H5Tset_cset(type.id, H5T_CSET_UTF8), "H5Tset_cset", context)
        return type
    }
}
