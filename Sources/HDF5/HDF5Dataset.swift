import CHDF5

/// How a dataset is laid out on disk.
///
/// Non-empty arrays are chunked and filtered in the order shuffle (skipped for 1-byte
/// elements) → deflate → Fletcher32, the same order h5py uses. Fletcher32 makes HDF5 refuse to
/// return a chunk whose bytes changed on disk (HDF5 has no other checksum on raw data).
/// Scalars and empty arrays cannot be chunked and are stored contiguously, unfiltered.
public struct HDF5StorageOptions: Sendable, Equatable {
    /// zlib level 1…9, or `nil` for no compression.
    public var deflateLevel: Int?
    public var shuffle: Bool
    public var fletcher32: Bool
    /// Chunk shape; `nil` picks one with ``HDF5StorageOptions/automaticChunkShape(for:elementSize:)``.
    public var chunkShape: [Int]?

    public init(deflateLevel: Int? = 4, shuffle: Bool = true, fletcher32: Bool = true, chunkShape: [Int]? = nil) {
        self.deflateLevel = deflateLevel
        self.shuffle = shuffle
        self.fletcher32 = fletcher32
        self.chunkShape = chunkShape
    }

    /// deflate level 4, shuffle, Fletcher32, automatic chunks.
    public static let `default` = HDF5StorageOptions()

    /// Largest automatic chunk: 1 MiB, the size of HDF5's default per-dataset chunk cache, big
    /// enough for deflate to work well and small enough that a partial read stays cheap.
    public static let automaticChunkBytes = 1 << 20

    /// The chunk shape used when none is given: the whole array if it fits in
    /// ``automaticChunkBytes``, otherwise the array with its largest axis halved (rounding up)
    /// until it fits.
    public static func automaticChunkShape(for shape: [Int], elementSize: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        func bytes() -> Int { chunk.reduce(elementSize, *) }
        while bytes() > automaticChunkBytes {
            guard let axis = chunk.indices.max(by: { chunk[$0] < chunk[$1] }), chunk[axis] > 1 else { break }
            chunk[axis] = (chunk[axis] + 1) / 2
        }
        return chunk
    }
}

/// What a read expects the stored shape to be.
public enum HDF5ShapeExpectation: Sendable, Equatable, CustomStringConvertible {
    case any
    case rank(Int)
    case exactly([Int])

    func accepts(_ shape: [Int]) -> Bool {
        switch self {
        case .any: return true
        case .rank(let rank): return shape.count == rank
        case .exactly(let expected): return shape == expected
        }
    }

    public var description: String {
        switch self {
        case .any: return "any shape"
        case .rank(let rank): return "rank \(rank)"
        case .exactly(let shape): return "\(shape)"
        }
    }
}

/// Values read from a dataset, row-major, with their shape.
public struct HDF5Array<Element> {
    public var shape: [Int]
    public var values: [Element]
}

extension HDF5Array: Equatable where Element: Equatable {}
extension HDF5Array: Sendable where Element: Sendable {}

/// Where one stored chunk lives in the file (`H5Dget_chunk_info`): for diagnostics and for
/// fault-injection tests.
public struct HDF5ChunkLocation: Sendable, Equatable {
    public var fileOffset: Int
    public var byteCount: Int
}

/// A dataset. Reads check the stored type and shape before touching data.
public final class HDF5Dataset: HDF5Object {
    /// The stored shape (`[]` for a scalar).
    public func shape() throws -> [Int] {
        try HDF5Library.withLock {
            let space = try HDF5Handle.make(H5Dget_space(handle.id), .dataspace, "H5Dget_space", context)
            return try HDF5Space.shape(of: space.id, context)
        }
    }

    /// The stored element type, described ("float32", "uint8", "variable-length string", …).
    public func storedTypeDescription() throws -> String {
        try HDF5Library.withLock {
            let type = try HDF5Handle.make(H5Dget_type(handle.id), .datatype, "H5Dget_type", context)
            return HDF5TypeCheck.describe(type.id)
        }
    }

    /// Reads the whole dataset as `T`.
    ///
    /// - Throws: ``HDF5Error`` `.typeMismatch` if it is not stored as exactly `T` (no
    ///   conversions: a float32 dataset read as `Int64` is an error), `.shapeMismatch` if the
    ///   shape is not `expected`; both name the file and the dataset.
    public func read<T: HDF5Numeric>(_ type: T.Type, shape expected: HDF5ShapeExpectation = .any) throws -> HDF5Array<T> {
        try HDF5Library.withLock {
            let shape = try checkedShape(T.hdf5ElementType, expected)
            let count = shape.reduce(1, *)
            let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 {
                    let status = H5Dread(handle.id, T.hdf5ElementType.memoryType, ch5_s_all(), ch5_s_all(),
                                         ch5_p_default(), buffer.baseAddress)
                    try HDF5Call.status(status, "H5Dread", context)
                }
                initialized = count
            }
            return HDF5Array(shape: shape, values: values)
        }
    }

    /// Reads a dataset that holds exactly one value (a scalar, or any shape with one element).
    public func readScalar<T: HDF5Numeric>(_ type: T.Type) throws -> T {
        let array = try read(type)
        guard array.values.count == 1 else {
            throw context.error(.shapeMismatch(expected: "one element", found: array.shape))
        }
        return array.values[0]
    }

    /// Reads a variable-length string dataset (UTF-8; invalid bytes are replaced).
    public func readStrings(shape expected: HDF5ShapeExpectation = .any) throws -> HDF5Array<String> {
        try HDF5Library.withLock {
            let shape = try checkedShape(.string, expected)
            let count = shape.reduce(1, *)
            let memoryType = try HDF5TypeCheck.makeStringType(context)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            if count > 0 {
                let status = pointers.withUnsafeMutableBufferPointer {
                    H5Dread(handle.id, memoryType.id, ch5_s_all(), ch5_s_all(), ch5_p_default(), $0.baseAddress)
                }
                try HDF5Call.status(status, "H5Dread", context)
            }
            let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            if count > 0 {
                let space = try HDF5Handle.make(H5Dget_space(handle.id), .dataspace, "H5Dget_space", context)
                let status = pointers.withUnsafeMutableBufferPointer {
                    H5Dvlen_reclaim(memoryType.id, space.id, ch5_p_default(), $0.baseAddress)
                }
                try HDF5Call.status(status, "H5Dvlen_reclaim", context)
            }
            return HDF5Array(shape: shape, values: strings)
        }
    }

    /// Reads a string dataset that holds exactly one string.
    public func readScalarString() throws -> String {
        let array = try readStrings()
        guard array.values.count == 1 else {
            throw context.error(.shapeMismatch(expected: "one element", found: array.shape))
        }
        return array.values[0]
    }

    /// The file offsets and stored sizes of the dataset's chunks (empty if not chunked).
    public func chunkLocations() throws -> [HDF5ChunkLocation] {
        try HDF5Library.withLock {
            let plist = try HDF5Handle.make(H5Dget_create_plist(handle.id), .propertyList, "H5Dget_create_plist", context)
            guard H5Pget_layout(plist.id) == H5D_CHUNKED else { return [] }
            let space = try HDF5Handle.make(H5Dget_space(handle.id), .dataspace, "H5Dget_space", context)
            var count: hsize_t = 0
            try HDF5Call.status(H5Dget_num_chunks(handle.id, space.id, &count), "H5Dget_num_chunks", context)
            let rank = Int(H5Sget_simple_extent_ndims(space.id))
            var locations: [HDF5ChunkLocation] = []
            for index in 0..<count {
                var offset = [hsize_t](repeating: 0, count: max(rank, 1))
                var mask: UInt32 = 0
                var address: haddr_t = 0
                var size: hsize_t = 0
                try HDF5Call.status(H5Dget_chunk_info(handle.id, space.id, index, &offset, &mask, &address, &size),
                                    "H5Dget_chunk_info", context)
                locations.append(HDF5ChunkLocation(fileOffset: Int(address), byteCount: Int(size)))
            }
            return locations
        }
    }

    /// The stored shape after checking the stored type is `element` and the shape is expected.
    /// Call with the lock held.
    private func checkedShape(_ element: HDF5ElementType, _ expected: HDF5ShapeExpectation) throws -> [Int] {
        let type = try HDF5Handle.make(H5Dget_type(handle.id), .datatype, "H5Dget_type", context)
        guard HDF5TypeCheck.matches(type.id, element) else {
            throw context.error(.typeMismatch(expected: element.rawValue, found: HDF5TypeCheck.describe(type.id)))
        }
        let space = try HDF5Handle.make(H5Dget_space(handle.id), .dataspace, "H5Dget_space", context)
        let shape = try HDF5Space.shape(of: space.id, context)
        guard expected.accepts(shape) else {
            throw context.error(.shapeMismatch(expected: expected.description, found: shape))
        }
        return shape
    }
}

/// Dataspace helpers. Call with the lock held.
enum HDF5Space {
    static func shape(of space: hid_t, _ context: HDF5Context) throws -> [Int] {
        let rank = try HDF5Call.status(H5Sget_simple_extent_ndims(space), "H5Sget_simple_extent_ndims", context)
        if rank == 0 { return [] }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        try HDF5Call.status(H5Sget_simple_extent_dims(space, &dims, nil), "H5Sget_simple_extent_dims", context)
        return dims.map { Int($0) }
    }

    /// A scalar dataspace for `[]`, a simple one otherwise.
    static func make(_ shape: [Int], _ context: HDF5Context) throws -> HDF5Handle {
        if shape.isEmpty {
            return try HDF5Handle.make(H5Screate(H5S_SCALAR), .dataspace, "H5Screate", context)
        }
        let dims = shape.map { hsize_t($0) }
        return try HDF5Handle.make(H5Screate_simple(Int32(dims.count), dims, nil), .dataspace, "H5Screate_simple", context)
    }
}
