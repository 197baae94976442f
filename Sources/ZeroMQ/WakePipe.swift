#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking pipe that lets another thread wake a ``Poller`` loop: register
/// ``descriptor`` with ``Poller/register(fileDescriptor:for:)``, call ``wake()`` from the
/// other thread, and ``drain()`` in the loop after it woke. Closed on deinit, so keep it
/// alive as long as either thread uses it.
public final class WakePipe: Sendable {
    // Sendable: two immutable descriptors; read(2)/write(2) on them are thread-safe.
    private let readEnd: Int32
    private let writeEnd: Int32

    /// - Returns: `nil` when the process is out of descriptors (callers then poll with a timeout).
    public init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// The end to poll for readability.
    public var descriptor: Int32 { readEnd }

    /// Makes ``descriptor`` readable (a full pipe is readable already: `EAGAIN` is fine).
    public func wake() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe.
    public func drain() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buffer, { read(readEnd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
