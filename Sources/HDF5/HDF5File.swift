import CHDF5
import Foundation

/// An open HDF5 file. Group, dataset and attribute operations on the file act on its root group.
///
/// Files are created in the HDF5 1.10 format (`H5Pset_libver_bounds(V110, LATEST)`): object
/// headers and chunk indexes carry checksums, and any HDF5 ≥ 1.10 (every h5py wheel since 2018)
/// reads them. Object modification times are not recorded, so equal content gives equal bytes.
///
/// The file is opened with `H5F_CLOSE_SEMI`: ``close()`` throws if groups or datasets of it are
/// still open, instead of silently closing later. Objects keep their file alive, so letting
/// everything go out of scope always closes cleanly (in `deinit`).
public final class HDF5File: HDF5Container {
    public enum Mode: Sendable { case readOnly, readWrite }

    override var fileObject: HDF5File { self }

    /// Creates (or truncates) the file at `url`.
    @available(*, noasync, message: "HDF5 calls block; run them on a dedicated thread")
    public static func create(_ url: URL) throws -> HDF5File {
        let path = url.path
        return try HDF5Library.withLock {
            let context = HDF5Context(file: path, object: nil)
            let fapl = try accessList(context)
            try HDF5Call.status(H5Pset_libver_bounds(fapl.id, H5F_LIBVER_V110, H5F_LIBVER_V110),
                                "H5Pset_libver_bounds", context)
            // The root group is created with the file: switch off its time stamps here.
            let fcpl = try HDF5Handle.make(H5Pcreate(ch5_p_file_create()), .propertyList, "H5Pcreate", context)
            try HDF5Call.status(H5Pset_obj_track_times(fcpl.id, false), "H5Pset_obj_track_times", context)
            let id = H5Fcreate(path, ch5_f_acc_trunc(), fcpl.id, fapl.id)
            guard id >= 0 else {
                let messages = HDF5Call.takeErrorStack()
                throw context.error(.cannotOpen(reason: messages.last ?? "H5Fcreate failed"), messages: messages)
            }
            return HDF5File(handle: HDF5Handle(id, .file), owner: nil, filePath: path, path: "/")
        }
    }

    /// Opens an existing file.
    ///
    /// - Throws: ``HDF5Error`` `.notHDF5` when the file has no HDF5 signature, `.truncated` when
    ///   it is shorter than its superblock says, `.cannotOpen` when it is missing or unreadable.
    @available(*, noasync, message: "HDF5 calls block; run them on a dedicated thread")
    public static func open(_ url: URL, mode: Mode = .readOnly) throws -> HDF5File {
        let path = url.path
        return try HDF5Library.withLock {
            let context = HDF5Context(file: path, object: nil)
            if access(path, R_OK) != 0 {
                let code = errno
                throw context.error(.cannotOpen(reason: String(cString: strerror(code))))
            }
            let signature = H5Fis_hdf5(path)
            if signature == 0 { _ = HDF5Call.takeErrorStack(); throw context.error(.notHDF5) }
            if signature < 0 {
                let messages = HDF5Call.takeErrorStack()
                // 1.10 reports a file too short for a superblock as an error, not as "no".
                throw context.error(.notHDF5, messages: messages)
            }
            let fapl = try accessList(context)
            let flags = mode == .readOnly ? ch5_f_acc_rdonly() : ch5_f_acc_rdwr()
            let id = H5Fopen(path, flags, fapl.id)
            guard id >= 0 else {
                let messages = HDF5Call.takeErrorStack()
                if messages.contains(where: { $0.localizedCaseInsensitiveContains("truncated") }) {
                    throw context.error(.truncated, messages: messages)
                }
                throw context.error(.cannotOpen(reason: messages.last ?? "H5Fopen failed"), messages: messages)
            }
            return HDF5File(handle: HDF5Handle(id, .file), owner: nil, filePath: path, path: "/")
        }
    }

    /// Flushes and closes the file. Throws if HDF5 cannot write it out, or if groups or datasets
    /// of this file are still referenced (close those first). Closing twice is a no-op.
    public func close() throws {
        try handle.close(context)
    }

    /// Writes buffered data to the operating system (`H5Fflush`), without closing.
    public func flush() throws {
        _ = try HDF5Library.withLock {
            try HDF5Call.status(H5Fflush(handle.id, H5F_SCOPE_LOCAL), "H5Fflush", context)
        }
    }

    private static func accessList(_ context: HDF5Context) throws -> HDF5Handle {
        let fapl = try HDF5Handle.make(H5Pcreate(ch5_p_file_access()), .propertyList, "H5Pcreate", context)
        try HDF5Call.status(H5Pset_fclose_degree(fapl.id, H5F_CLOSE_SEMI), "H5Pset_fclose_degree", context)
        return fapl
    }
}
