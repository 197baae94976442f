#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A read-only memory mapping of a whole file; the only owner of the mapping, unmapped in `deinit`.
///
/// Mapped pages are backed by the page cache, so a mapped weight file costs resident memory only
/// for the pages actually read, and nothing once this object is released.
final class MappedFile {
    let path: String
    /// File size in bytes.
    let count: Int
    private let base: UnsafeMutableRawPointer?

    /// Maps `url` with `mmap(PROT_READ, MAP_PRIVATE)`.
    /// - Throws: `CheckpointError.unreadable` with the `errno` text.
    init(url: URL) throws {
        path = url.path
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError.unreadable(file: url.path, reason: Self.errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CheckpointError.unreadable(file: url.path, reason: Self.errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError.unreadable(file: url.path, reason: "not a regular file")
        }
        count = Int(info.st_size)
        if count == 0 {
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw CheckpointError.unreadable(file: url.path, reason: "mmap failed: \(Self.errnoText())")
        }
        base = mapped
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// Calls `body` with the file's bytes; the pointer MUST NOT escape `body`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) }, count: count))
    }

    /// Drops the resident pages wholly inside `range` from this process (`madvise(MADV_DONTNEED)`).
    ///
    /// The mapping is private and never written, so the pages simply fault in from the file again
    /// if read later; this only keeps RSS at one copy of the weights while they are up-cast.
    func releasePages(in range: Range<Int>) {
        guard let base, !range.isEmpty, range.lowerBound >= 0, range.upperBound <= count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard start < end else { return }
        _ = madvise(base + start, end - start, MADV_DONTNEED)
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
