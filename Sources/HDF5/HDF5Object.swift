import CHDF5

/// Something in an HDF5 file that has an id and can carry attributes: the file itself (its root
/// group), a group, or a dataset. See `HDF5Object+Attributes.swift`.
///
/// Each object keeps its file alive (a strong reference), so the file is closed last; the file
/// is opened with `H5F_CLOSE_SEMI`, so an explicit `HDF5File.close()` while objects are still
/// open fails loudly instead of invalidating them.
public class HDF5Object {
    let handle: HDF5Handle
    /// The file this object lives in; `nil` for the file object itself.
    let owner: HDF5File?
    /// Path of the file on disk.
    public let filePath: String
    /// Absolute path inside the file, "/" for the file and its root group.
    public let path: String

    init(handle: HDF5Handle, owner: HDF5File?, filePath: String, path: String) {
        self.handle = handle
        self.owner = owner
        self.filePath = filePath
        self.path = path
    }

    var context: HDF5Context { HDF5Context(file: filePath, object: path) }

    /// The file object that keeps this object's file open.
    var fileObject: HDF5File {
        guard let owner else { preconditionFailure("HDF5Object without an owning file") }
        return owner
    }

    /// Absolute path of `name` relative to this object ("a/b" under "/x" is "/x/a/b").
    func childPath(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        return path == "/" ? "/" + name : path + "/" + name
    }
}

/// A file or a group: something that holds groups and datasets.
public class HDF5Container: HDF5Object {
    /// Creates the group at `path` (relative to this container, "a/b/c"), creating any missing
    /// intermediate groups. Returns the new group.
    @discardableResult
    public func createGroup(_ path: String) throws -> HDF5Group {
        let full = childPath(path)
        return try HDF5Library.withLock {
            let context = HDF5Context(file: filePath, object: full)
            try createParents(of: path)
            let id = try makeGroup(path, context)
            return HDF5Group(handle: id, owner: fileObject, filePath: filePath, path: full)
        }
    }

    /// Creates every missing group above `path`. Groups are made here, not by
    /// `H5Pset_create_intermediate_group`, so that they too carry no time stamps.
    /// Call with the lock held.
    func createParents(of path: String) throws {
        let components = path.split(separator: "/")
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in components.dropLast() {
            switch prefix {
            case "": prefix = String(component)
            case "/": prefix = "/" + component
            default: prefix += "/" + component
            }
            if try !exists(prefix) {
                _ = try makeGroup(prefix, HDF5Context(file: filePath, object: childPath(prefix)))
            }
        }
    }

    /// `H5Gcreate2` without time stamps. Call with the lock held.
    private func makeGroup(_ path: String, _ context: HDF5Context) throws -> HDF5Handle {
        let gcpl = try HDF5Handle.make(H5Pcreate(ch5_p_group_create()), .propertyList, "H5Pcreate", context)
        try HDF5Call.status(H5Pset_obj_track_times(gcpl.id, false), "H5Pset_obj_track_times", context)
        let id = H5Gcreate2(handle.id, path, ch5_p_default(), gcpl.id, ch5_p_default())
        return try HDF5Handle.make(id, .group, "H5Gcreate2", context)
    }

    /// Opens the existing group at `path`; `.missing` if there is none.
    public func group(_ path: String) throws -> HDF5Group {
        let full = childPath(path)
        return try HDF5Library.withLock {
            let context = HDF5Context(file: filePath, object: full)
            guard try exists(path) else { throw context.error(.missing) }
            let group = try HDF5Handle.make(H5Gopen2(handle.id, path, ch5_p_default()), .group, "H5Gopen2", context)
            return HDF5Group(handle: group, owner: fileObject, filePath: filePath, path: full)
        }
    }

    /// Opens the existing dataset at `path`; `.missing` if there is none.
    public func dataset(_ path: String) throws -> HDF5Dataset {
        let full = childPath(path)
        return try HDF5Library.withLock {
            let context = HDF5Context(file: filePath, object: full)
            guard try exists(path) else { throw context.error(.missing) }
            guard try kind(of: path) == .dataset else {
                throw context.error(.typeMismatch(expected: "dataset", found: "group"))
            }
            let id = try HDF5Handle.make(H5Dopen2(handle.id, path, ch5_p_default()), .dataset, "H5Dopen2", context)
            return HDF5Dataset(handle: id, owner: fileObject, filePath: filePath, path: full)
        }
    }

    /// Whether a link exists at `path` (every component is checked, so a missing intermediate
    /// group is `false`, not an error).
    public func exists(_ path: String) throws -> Bool {
        try HDF5Library.withLock {
            var prefix = path.hasPrefix("/") ? "/" : ""
            for component in path.split(separator: "/") {
                switch prefix {
                case "": prefix = String(component)
                case "/": prefix = "/" + component
                default: prefix += "/" + component
                }
                let found = try HDF5Call.status(H5Lexists(handle.id, prefix, ch5_p_default()), "H5Lexists",
                                                context, object: childPath(prefix))
                if found == 0 { return false }
            }
            return true
        }
    }

    /// What kind of object is at `path`.
    public func kind(of path: String) throws -> HDF5ObjectKind {
        try HDF5Library.withLock {
            let context = HDF5Context(file: filePath, object: childPath(path))
            let object = try HDF5Handle.make(H5Oopen(handle.id, path, ch5_p_default()), .object, "H5Oopen", context)
            switch H5Iget_type(object.id) {
            case H5I_GROUP: return .group
            case H5I_DATASET: return .dataset
            default: return .other
            }
        }
    }

    /// Removes the link at `path` (the object's space is not reclaimed in the file).
    public func removeLink(_ path: String) throws {
        try HDF5Library.withLock {
            let context = HDF5Context(file: filePath, object: childPath(path))
            guard try exists(path) else { throw context.error(.missing) }
            try HDF5Call.status(H5Ldelete(handle.id, path, ch5_p_default()), "H5Ldelete", context)
        }
    }

    /// Names of the direct children (groups and datasets), in name order (`H5Literate`).
    public func childNames() throws -> [String] {
        try HDF5Library.withLock {
            final class Names { var list: [String] = [] }
            let names = Names()
            var index: hsize_t = 0
            let status = withExtendedLifetime(names) {
                H5Literate(handle.id, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, data in
                    guard let name, let data else { return 0 }
                    Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                    return 0
                }, Unmanaged.passUnretained(names).toOpaque())
            }
            try HDF5Call.status(status, "H5Literate", context)
            return names.list
        }
    }
}

/// What a link points at.
public enum HDF5ObjectKind: Sendable, Equatable {
    case group, dataset, other
}

/// A group inside a file.
public final class HDF5Group: HDF5Container {}
