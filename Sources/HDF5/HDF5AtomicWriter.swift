import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes an HDF5 file so that the final name only ever holds a complete file.
///
/// Steps: create a temporary file in the destination's folder (`.<name>.<pid>-<random>.tmp`),
/// let `body` fill it, close it (HDF5 flushes everything), `fsync` it, call `beforeRename`
/// (which may hash the finished bytes), `rename` it over the final name, and `fsync` the folder
/// so the rename itself is durable. A crash or kill at any point before the rename leaves the
/// previous file (if any) untouched; the temporary file is removed on every thrown error.
public enum HDF5AtomicWriter {
    /// - Parameters:
    ///   - url: the final file name.
    ///   - beforeRename: called with the finished, synced temporary file just before the
    ///     rename; throwing aborts the write. Also a fault-injection point for tests.
    ///   - body: fills the file. It MUST NOT keep groups or datasets beyond its return (the
    ///     file is closed with `H5F_CLOSE_SEMI`, so a leaked object makes the write fail).
    @available(*, noasync, message: "HDF5 calls and fsync block; run them on a dedicated thread")
    public static func write(to url: URL,
                             beforeRename: ((URL) throws -> Void)? = nil,
                             _ body: (HDF5File) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp")
        var renamed = false
        defer { if !renamed { unlink(temporary.path) } }

        do {
            let file = try HDF5File.create(temporary)
            try body(file)
            try file.close()
        }
        try Syscall.fsyncFile(temporary.path, reportingAs: url.path)
        try beforeRename?(temporary)
        try Syscall.check(rename(temporary.path, url.path), "rename", file: url.path)
        renamed = true
        try Syscall.fsyncFile(folder.path, reportingAs: url.path, directory: true)
    }
}

/// The errno funnel for the few system calls around files: retries `EINTR`, maps failures to
/// ``HDF5Error`` `.system` naming the file.
enum Syscall {
    static func check(_ result: Int32, _ operation: String, file: String) throws {
        if result != 0 { throw HDF5Error(.system(operation: operation, errno: errno), file: file) }
    }

    /// Opens `path` read-only, fsyncs it and closes it.
    static func fsyncFile(_ path: String, reportingAs file: String, directory: Bool = false) throws {
        let flags = O_RDONLY | (directory ? O_DIRECTORY : 0)
        let fd = retryingEINTR { open(path, flags) }
        guard fd >= 0 else { throw HDF5Error(.system(operation: "open", errno: errno), file: path) }
        defer { close(fd) }
        if retryingEINTR({ fsync(fd) }) != 0 {
            throw HDF5Error(.system(operation: directory ? "fsync(folder)" : "fsync", errno: errno), file: file)
        }
    }

    static func retryingEINTR(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }
}
