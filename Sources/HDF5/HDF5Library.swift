import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide access to the HDF5 C library.
///
/// HDF5 builds without `--enable-threadsafe` do not protect their global state (id tables,
/// error stacks, caches), so two threads calling in at once corrupt it. Debian 12's 1.10.8
/// serial package reports `H5is_library_threadsafe` = 1, but we do not rely on that (other
/// builds, e.g. conda's or a self-built one, are not): **every HDF5 call in this module goes
/// through ``withLock(_:)``**, one process-wide recursive lock, so at most one thread is inside
/// HDF5 at a time. It is recursive so that a wrapper can call another wrapper (and
/// `deinit`s can close handles) while already inside the lock.
///
/// Code outside this module MUST NOT import `CHDF5`; it uses these wrappers, which take the lock.
///
/// The lock is fork-aware: `pthread_atfork` handlers take it before `fork()` and release it in
/// the parent, and re-create it in the child. So a forked child never inherits a lock (or an
/// HDF5 state) that another thread held half-way through a call.
///
/// On first use the library is opened (`H5open`); HDF5's automatic error printing is switched
/// off (`H5Eset_auto2(H5E_DEFAULT, NULL, NULL)`) on every entry, since thread-safe builds keep
/// that setting per thread; failures are read from the error
/// stack instead and thrown as ``HDF5Error``.
public enum HDF5Library {
    /// Runs `body` holding the process-wide HDF5 lock.
    public static func withLock<R>(_ body: () throws -> R) rethrows -> R {
        let lock = globalHDF5Lock
        lock.lock()
        defer { lock.unlock() }
        // Thread-safe builds keep the auto-print setting per thread; silence it for this one.
        _ = ch5_silence_errors()
        return try body()
    }

    /// The linked library's version, from `H5get_libversion` (e.g. 1.10.8).
    public static var version: (major: Int, minor: Int, release: Int) {
        withLock {
            var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
            _ = H5get_libversion(&major, &minor, &release)
            return (Int(major), Int(minor), Int(release))
        }
    }

    /// "1.10.8"
    public static var versionString: String {
        let v = version
        return "\(v.major).\(v.minor).\(v.release)"
    }

    /// Whether the linked library was built thread-safe (`H5is_library_threadsafe`). The lock is
    /// taken either way.
    public static var isThreadSafeBuild: Bool {
        withLock {
            var flag: hbool_t = false
            _ = H5is_library_threadsafe(&flag)
            return flag
        }
    }
}

/// A recursive pthread mutex that is reset in a forked child.
///
/// `@unchecked Sendable`: the only state is the mutex, which is designed for cross-thread use.
final class HDF5Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        Self.initialize(mutex)
    }

    private static func initialize(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// In a forked child only the forking thread exists; whatever the parent's threads held
    /// is gone, so the mutex is re-created unlocked.
    func resetInChild() { Self.initialize(mutex) }
}

/// The one HDF5 lock of the process; created (with the library opened and error printing
/// silenced) on first use. Never deallocated.
let globalHDF5Lock: HDF5Lock = {
    let lock = HDF5Lock()
    pthread_atfork(
        { globalHDF5Lock.lock() },
        { globalHDF5Lock.unlock() },
        { globalHDF5Lock.resetInChild() })
    lock.lock()
    _ = H5open()
    _ = ch5_silence_errors()
    lock.unlock()
    return lock
}()
