import Foundation
import Sweep

/// Appends the small results of group commits to the current pack, and starts a new pack
/// after `maxBytes` or `maxEntries`: a few file creations per sweep instead of one per unit or
/// per commit (creating files is what a busy ext4 does slowest). Used by one thread.
final class ResultPackWriter {
    private let store: ResultStore
    private let maxBytes: Int
    private let maxEntries: Int
    private var current: (name: String, fd: Int32, size: Int, entries: Int)?

    init(store: ResultStore, maxBytes: Int = 64 << 20, maxEntries: Int = 8192) {
        self.store = store
        self.maxBytes = maxBytes
        self.maxEntries = maxEntries
    }

    deinit { _ = close() }

    /// The pack results are appended to now.
    var currentPack: String? { current?.name }

    /// What ``append(_:fsync:)`` did.
    struct Appended {
        var locations: [PackedResult]
        /// A new pack was started for these entries.
        var opened: String?
        /// The previous pack, closed first because it was full.
        var closed: String?
    }

    /// Appends `entries` (one write) and returns their locations, same order. With `fsync`
    /// the pack's data (and, for a new pack, its folder) are flushed; otherwise the caller
    /// syncs before journaling. A failed write closes the pack (``currentPack`` tells) and throws.
    @available(*, noasync)
    func append(_ entries: [ResultStore.PackEntry], fsync flush: Bool) throws(ResultStoreError) -> Appended {
        var outcome = Appended(locations: [])
        let bytes = entries.reduce(0) { $0 + 48 + $1.resultPath.utf8.count + $1.bytes.count }
        if let c = current, c.size + bytes > maxBytes || c.entries + entries.count > maxEntries {
            outcome.closed = close()
        }
        if current == nil {
            let name = "\(Int64(Date().timeIntervalSince1970 * 1000))-\(UInt32.random(in: .min ... .max)).pack"
            let fd = try create(store.packPath(name))
            current = (name, fd, 0, 0)
            outcome.opened = name
            do throws(ResultStoreError) {
                try write(ResultStore.packMagic)
            } catch {
                close()
                throw error
            }
        }
        guard let c = current else { return outcome }
        let (buffer, locations) = ResultStore.encodeEntries(entries, pack: c.name, at: c.size)
        do throws(ResultStoreError) {
            try write(buffer)
            if flush {
                guard fdatasync(c.fd) == 0 else {
                    throw ResultStoreError(path: store.packPath(c.name), detail: "fdatasync failed: \(String(cString: strerror(errno)))")
                }
                if outcome.opened != nil { store.syncFolder(URL(fileURLWithPath: store.packFolder, isDirectory: true)) }
            }
        } catch {
            close()
            throw error
        }
        current?.entries += entries.count
        outcome.locations = locations
        return outcome
    }

    /// Closes the current pack (if any) and returns its name.
    @discardableResult
    func close() -> String? {
        guard let c = current else { return nil }
        Foundation.close(c.fd)
        current = nil
        return c.name
    }

    private func write(_ buffer: [UInt8]) throws(ResultStoreError) {
        guard let c = current else { return }
        if let error = store.writeAll(c.fd, buffer) {
            // Cut a partial entry off so the pack stays readable up to its last whole entry.
            _ = ftruncate(c.fd, off_t(c.size))
            throw ResultStoreError(path: store.packPath(c.name), detail: "write failed: \(String(cString: strerror(error)))")
        }
        current?.size += buffer.count
    }

    private func create(_ path: String) throws(ResultStoreError) -> Int32 {
        var fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0o644)
        if fd < 0, errno == ENOENT {
            do {
                try FileManager.default.createDirectory(atPath: store.packFolder, withIntermediateDirectories: true)
            } catch {
                throw ResultStoreError(path: store.packFolder, detail: "cannot create the pack folder: \(error)")
            }
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0o644)
        }
        guard fd >= 0 else { throw ResultStoreError(path: path, detail: "open failed: \(String(cString: strerror(errno)))") }
        return fd
    }
}
