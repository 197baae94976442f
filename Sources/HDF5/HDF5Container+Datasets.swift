import CHDF5

extension HDF5Container {
    /// Creates a dataset holding `values` (row-major) with `shape` (`nil` means 1-d
    /// `[values.count]`, `[]` a scalar). Intermediate groups are created.
    ///
    /// - Throws: ``HDF5Error`` `.invalidArgument` if the shape does not match the value count,
    ///   `.library` if the name exists or HDF5 fails.
    @discardableResult
    public func createDataset<T: HDF5Numeric>(_ name: String, values: [T], shape: [Int]? = nil,
                                              options: HDF5StorageOptions = .default) throws -> HDF5Dataset {
        try values.withUnsafeBytes { bytes in
            try createDataset(name, element: T.hdf5ElementType, shape: shape ?? [values.count],
                              count: values.count, options: options) { dataset, memoryType in
                H5Dwrite(dataset, memoryType, ch5_s_all(), ch5_s_all(), ch5_p_default(), bytes.baseAddress)
            }
        }
    }

    /// Creates a scalar dataset.
    @discardableResult
    public func createScalarDataset<T: HDF5Numeric>(_ name: String, value: T) throws -> HDF5Dataset {
        try createDataset(name, values: [value], shape: [])
    }

    /// Creates a variable-length UTF-8 string dataset (`nil` shape: 1-d). Strings MUST NOT
    /// contain NUL. Always stored contiguously and unfiltered (`options` is ignored): HDF5 1.10
    /// refuses deflate and Fletcher32 on variable-length types ("not suitable for filters"),
    /// and keeps the characters in its global heap anyway. For millions of strings prefer a
    /// factored or byte-blob encoding.
    @discardableResult
    public func createDataset(_ name: String, strings: [String], shape: [Int]? = nil,
                              options: HDF5StorageOptions = .default) throws -> HDF5Dataset {
        let packed = try HDF5PackedStrings(strings, HDF5Context(file: filePath, object: childPath(name)))
        return try packed.withPointers { pointers in
            try createDataset(name, element: .string, shape: shape ?? [strings.count], count: strings.count,
                              options: options) { dataset, memoryType in
                H5Dwrite(dataset, memoryType, ch5_s_all(), ch5_s_all(), ch5_p_default(), pointers.baseAddress)
            }
        }
    }

    /// Creates a scalar string dataset.
    @discardableResult
    public func createScalarDataset(_ name: String, string: String) throws -> HDF5Dataset {
        try createDataset(name, strings: [string], shape: [])
    }

    /// Shared creation path: validates, builds the creation property list, creates the
    /// dataset and calls `write(datasetID, memoryTypeID)` for the data.
    private func createDataset(_ name: String, element: HDF5ElementType, shape: [Int], count: Int,
                               options: HDF5StorageOptions,
                               write: (hid_t, hid_t) -> herr_t) throws -> HDF5Dataset {
        let full = childPath(name)
        let context = HDF5Context(file: filePath, object: full)
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw context.error(.invalidArgument("shape \(shape) does not hold \(count) values"))
        }
        if let level = options.deflateLevel, !(1...9).contains(level) {
            throw context.error(.invalidArgument("deflate level \(level) is not in 1...9"))
        }
        return try HDF5Library.withLock {
            let space = try HDF5Space.make(shape, context)
            let dcpl = try creationList(element: element, shape: shape, options: options, context)
            try createParents(of: name)
            let stringType = element == .string ? try HDF5TypeCheck.makeStringType(context) : nil
            let fileType = stringType?.id ?? element.fileType
            let memoryType = stringType?.id ?? element.memoryType
            let id = H5Dcreate2(handle.id, name, fileType, space.id, ch5_p_default(), dcpl.id, ch5_p_default())
            let dataset = try HDF5Handle.make(id, .dataset, "H5Dcreate2", context)
            if count > 0 {
                try HDF5Call.status(write(dataset.id, memoryType), "H5Dwrite", context)
            }
            return HDF5Dataset(handle: dataset, owner: fileObject, filePath: filePath, path: full)
        }
    }

    /// Dataset creation properties: chunking and filters for non-empty arrays, no time stamps.
    private func creationList(element: HDF5ElementType, shape: [Int], options: HDF5StorageOptions,
                              _ context: HDF5Context) throws -> HDF5Handle {
        let dcpl = try HDF5Handle.make(H5Pcreate(ch5_p_dataset_create()), .propertyList, "H5Pcreate", context)
        try HDF5Call.status(H5Pset_obj_track_times(dcpl.id, false), "H5Pset_obj_track_times", context)
        guard !shape.isEmpty, !shape.contains(0), element != .string else { return dcpl }
        let chunk = options.chunkShape
            ?? HDF5StorageOptions.automaticChunkShape(for: shape, elementSize: element.byteSize)
        guard chunk.count == shape.count, zip(chunk, shape).allSatisfy({ $0 >= 1 && $0 <= $1 }) else {
            throw context.error(.invalidArgument("chunk shape \(chunk) does not fit dataset shape \(shape)"))
        }
        let dims = chunk.map { hsize_t($0) }
        try HDF5Call.status(H5Pset_chunk(dcpl.id, Int32(dims.count), dims), "H5Pset_chunk", context)
        if options.shuffle && element.byteSize > 1 && element != .string {
            try HDF5Call.status(H5Pset_shuffle(dcpl.id), "H5Pset_shuffle", context)
        }
        if let level = options.deflateLevel {
            try HDF5Call.status(H5Pset_deflate(dcpl.id, UInt32(level)), "H5Pset_deflate", context)
        }
        if options.fletcher32 {
            try HDF5Call.status(H5Pset_fletcher32(dcpl.id), "H5Pset_fletcher32", context)
        }
        return dcpl
    }
}

/// Strings packed as NUL-terminated UTF-8 in one buffer, with a pointer per string, the
/// in-memory form HDF5 writes variable-length strings from.
struct HDF5PackedStrings {
    private var bytes: [CChar] = []
    private var offsets: [Int] = []

    init(_ strings: [String], _ context: HDF5Context) throws {
        offsets.reserveCapacity(strings.count)
        bytes.reserveCapacity(strings.reduce(0) { $0 + $1.utf8.count + 1 })
        for (index, string) in strings.enumerated() {
            offsets.append(bytes.count)
            for byte in string.utf8 {
                if byte == 0 {
                    throw context.error(.invalidArgument("string \(index) contains a NUL byte, which HDF5 strings cannot hold"))
                }
                bytes.append(CChar(bitPattern: byte))
            }
            bytes.append(0)
        }
    }

    /// Calls `body` with one pointer per string; the pointers are valid only inside `body`.
    func withPointers<R>(_ body: (UnsafeMutableBufferPointer<UnsafePointer<CChar>?>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress
            var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in base.map { $0 + offset } }
            return try pointers.withUnsafeMutableBufferPointer { try body($0) }
        }
    }
}
