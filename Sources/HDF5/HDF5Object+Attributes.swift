import CHDF5

/// Attributes on files (root group), groups and datasets: scalars, 1-d arrays and strings.
/// Setting an existing attribute replaces it. Errors name the object as `"/path@name"`.
extension HDF5Object {
    /// Sets a scalar numeric attribute.
    public func setAttribute<T: HDF5Numeric>(_ name: String, _ value: T) throws {
        try [value].withUnsafeBytes { bytes in
            try writeAttribute(name, element: T.hdf5ElementType, shape: []) { attribute, type in
                H5Awrite(attribute, type, bytes.baseAddress)
            }
        }
    }

    /// Sets a 1-d numeric array attribute.
    public func setAttribute<T: HDF5Numeric>(_ name: String, _ values: [T]) throws {
        // A zero-length array still needs a valid buffer pointer.
        let storage = values.isEmpty ? [T.hdf5Zero] : values
        try storage.withUnsafeBytes { bytes in
            try writeAttribute(name, element: T.hdf5ElementType, shape: [values.count]) { attribute, type in
                H5Awrite(attribute, type, bytes.baseAddress)
            }
        }
    }

    /// Sets a variable-length UTF-8 string attribute (h5py reads it as `str`).
    public func setAttribute(_ name: String, _ value: String) throws {
        try setStrings(name, [value], shape: [])
    }

    /// Sets a 1-d array of variable-length UTF-8 strings.
    public func setAttribute(_ name: String, _ values: [String]) throws {
        try setStrings(name, values, shape: [values.count])
    }

    /// Whether the attribute exists.
    public func hasAttribute(_ name: String) throws -> Bool {
        try HDF5Library.withLock {
            try HDF5Call.status(H5Aexists(handle.id, name), "H5Aexists", context, object: attributePath(name)) > 0
        }
    }

    /// Names of all attributes, in name order.
    public func attributeNames() throws -> [String] {
        try HDF5Library.withLock {
            final class Names { var list: [String] = [] }
            let names = Names()
            var index: hsize_t = 0
            let status = withExtendedLifetime(names) {
                H5Aiterate2(handle.id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, data in
                    guard let name, let data else { return 0 }
                    Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                    return 0
                }, Unmanaged.passUnretained(names).toOpaque())
            }
            try HDF5Call.status(status, "H5Aiterate2", context)
            return names.list
        }
    }

    /// Reads a numeric attribute holding exactly one value, stored as exactly `T`.
    public func attribute<T: HDF5Numeric>(_ name: String, as type: T.Type) throws -> T {
        let values = try attributeArray(name, of: type)
        guard values.count == 1 else {
            throw HDF5Error(.shapeMismatch(expected: "one element", found: [values.count]),
                            file: filePath, object: attributePath(name))
        }
        return values[0]
    }

    /// Reads a numeric attribute (scalar or 1-d) as an array of `T`.
    public func attributeArray<T: HDF5Numeric>(_ name: String, of type: T.Type) throws -> [T] {
        try HDF5Library.withLock {
            let (attribute, count) = try openAttribute(name, element: T.hdf5ElementType)
            let storage = try [T](unsafeUninitializedCapacity: max(count, 1)) { buffer, initialized in
                let status = H5Aread(attribute.id, T.hdf5ElementType.memoryType, buffer.baseAddress)
                try HDF5Call.status(status, "H5Aread", context, object: attributePath(name))
                initialized = max(count, 1)
            }
            return Array(storage.prefix(count))
        }
    }

    /// Reads a string attribute holding exactly one string.
    public func stringAttribute(_ name: String) throws -> String {
        let values = try stringArrayAttribute(name)
        guard values.count == 1 else {
            throw HDF5Error(.shapeMismatch(expected: "one element", found: [values.count]),
                            file: filePath, object: attributePath(name))
        }
        return values[0]
    }

    /// Reads a variable-length string attribute (scalar or 1-d) as an array.
    public func stringArrayAttribute(_ name: String) throws -> [String] {
        try HDF5Library.withLock {
            let object = attributePath(name)
            let (attribute, count) = try openAttribute(name, element: .string)
            guard count > 0 else { return [] }
            let memoryType = try HDF5TypeCheck.makeStringType(context)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            let status = pointers.withUnsafeMutableBufferPointer { H5Aread(attribute.id, memoryType.id, $0.baseAddress) }
            try HDF5Call.status(status, "H5Aread", context, object: object)
            let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            let space = try HDF5Handle.make(H5Aget_space(attribute.id), .dataspace, "H5Aget_space", context, object: object)
            let reclaimed = pointers.withUnsafeMutableBufferPointer {
                H5Dvlen_reclaim(memoryType.id, space.id, ch5_p_default(), $0.baseAddress)
            }
            try HDF5Call.status(reclaimed, "H5Dvlen_reclaim", context, object: object)
            return strings
        }
    }

    /// Deletes an attribute if it exists.
    public func removeAttribute(_ name: String) throws {
        try HDF5Library.withLock {
            if try hasAttribute(name) {
                try HDF5Call.status(H5Adelete(handle.id, name), "H5Adelete", context, object: attributePath(name))
            }
        }
    }

    // MARK: - Private

    func attributePath(_ name: String) -> String { "\(path)@\(name)" }

    private func setStrings(_ name: String, _ values: [String], shape: [Int]) throws {
        let packed = try HDF5PackedStrings(values, HDF5Context(file: filePath, object: attributePath(name)))
        try packed.withPointers { pointers in
            try writeAttribute(name, element: .string, shape: shape) { attribute, type in
                values.isEmpty ? 0 : H5Awrite(attribute, type, pointers.baseAddress)
            }
        }
    }

    /// Replaces the attribute and writes it through `write(attributeID, memoryTypeID)`.
    private func writeAttribute(_ name: String, element: HDF5ElementType, shape: [Int],
                                write: (hid_t, hid_t) -> herr_t) throws {
        let object = attributePath(name)
        try HDF5Library.withLock {
            try removeAttribute(name)
            let space = try HDF5Space.make(shape, HDF5Context(file: filePath, object: object))
            let stringType = element == .string ? try HDF5TypeCheck.makeStringType(context) : nil
            let id = H5Acreate2(handle.id, name, stringType?.id ?? element.fileType, space.id,
                                ch5_p_default(), ch5_p_default())
            let attribute = try HDF5Handle.make(id, .attribute, "H5Acreate2", context, object: object)
            try HDF5Call.status(write(attribute.id, stringType?.id ?? element.memoryType), "H5Awrite", context, object: object)
        }
    }

    /// Opens an attribute after checking it exists, has type `element` and rank ≤ 1.
    /// Returns it with its element count. Call with the lock held.
    private func openAttribute(_ name: String, element: HDF5ElementType) throws -> (HDF5Handle, Int) {
        let object = attributePath(name)
        guard try hasAttribute(name) else { throw HDF5Error(.missing, file: filePath, object: object) }
        let attribute = try HDF5Handle.make(H5Aopen(handle.id, name, ch5_p_default()), .attribute, "H5Aopen",
                                            context, object: object)
        let type = try HDF5Handle.make(H5Aget_type(attribute.id), .datatype, "H5Aget_type", context, object: object)
        guard HDF5TypeCheck.matches(type.id, element) else {
            throw HDF5Error(.typeMismatch(expected: element.rawValue, found: HDF5TypeCheck.describe(type.id)),
                            file: filePath, object: object)
        }
        let space = try HDF5Handle.make(H5Aget_space(attribute.id), .dataspace, "H5Aget_space", context, object: object)
        let shape = try HDF5Space.shape(of: space.id, HDF5Context(file: filePath, object: object))
        guard shape.count <= 1 else {
            throw HDF5Error(.shapeMismatch(expected: "scalar or 1-d", found: shape), file: filePath, object: object)
        }
        return (attribute, shape.reduce(1, *))
    }
}
