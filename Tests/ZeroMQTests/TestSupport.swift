import Foundation
import Logging
import Synchronization
import Testing
@testable import ZeroMQ

/// A `LogHandler` that keeps entries in memory so tests can assert on them. Never installed
/// globally: tests build `Logger(label:factory:)` with it.
struct InMemoryLogHandler: LogHandler {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    /// The shared store; copies of the handler (Logger copies it) append to the same store.
    final class Store: Sendable {
        private let entries = Mutex<[Entry]>([])
        func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        var all: [Entry] { entries.withLock { $0 } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(store: Store) { self.store = store }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        store.append(Entry(level: event.level, message: event.message.description,
                           metadata: merged.mapValues { "\($0)" }))
    }

    /// A logger writing into a fresh store.
    static func logger(label: String = "test") -> (Logger, Store) {
        let store = Store()
        return (Logger(label: label) { _ in InMemoryLogHandler(store: store) }, store)
    }
}

/// A temporary directory removed by `cleanUp()`. Kept short so `ipc://` paths fit in
/// `sockaddr_un` (108 bytes).
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = URL(fileURLWithPath: "/tmp/zmqt-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }

    func ipcEndpoint(_ name: String) -> String { "ipc://" + url.appendingPathComponent(name).path }
}

/// Runs blocking socket code off the cooperative pool, as production code must.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await DedicatedThread.run(name: "zeromq-test", body)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

extension Data {
    init(_ string: String) { self.init(string.utf8) }
}

/// Deterministic pseudo-random bytes (xorshift) so a big frame is not all zeros.
func patternBytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for index in bytes.indices {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[index] = UInt8(truncatingIfNeeded: state)
    }
    return Data(bytes)
}
