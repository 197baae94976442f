import Foundation
import GRDB

/// A unit's durable state.
public enum UnitState: String, Sendable, Codable, CaseIterable {
    case pending, leased, done, quarantined
}

/// One row of the `units` table.
public struct UnitRecord: Sendable, Equatable {
    public var id: UnitID
    public var model: String
    public var revision: String
    public var task: String
    public var analysis: String
    public var paramsJSON: String
    public var datasetHash: String
    public var priority: Int
    public var state: UnitState
    public var attempts: Int
    public var lastError: String?
    public var resultPath: String?
    public var sha256: String?
    /// Set while a done unit's result waits in a pack for its own file.
    public var packed: PackedResult? = nil
    public var updatedAt: Double

    public var checkpoint: CheckpointKey { CheckpointKey(model: model, revision: Revision(revision)) }
}

/// How a lease ended, as written to the `attempts` table.
public enum LeaseOutcome: String, Sendable, Codable {
    case committed, duplicate, failed, expired, released, cancelled, interrupted
}

/// One durable state change. The coordinator collects the changes of one loop tick and
/// writes them with ``Journal/apply(_:)`` in a single transaction (group commit).
public enum JournalChange: Sendable, Equatable {
    case leaseIssued(unit: UnitID, lease: UInt64, worker: String, at: Double)
    case leaseEnded(unit: UnitID, lease: UInt64, outcome: LeaseOutcome, error: String?, at: Double)
    case unitState(unit: UnitID, state: UnitState, attempts: Int, lastError: String?, at: Double)
    /// The unit's result is durable: in its file at `path`, or (with `packed`) in a pack
    /// segment until ``resultUnpacked(unit:pack:)``.
    case unitDone(unit: UnitID, path: String, sha256: String, packed: PackedResult? = nil, at: Double)
    /// The unit's own file now holds its packed result (written and synced); the pack
    /// segment is no longer needed. Ignored unless the unit still points at `pack`.
    case resultUnpacked(unit: UnitID, pack: String)
    case workerSeen(id: String, host: String, pid: Int, capacity: Int, at: Double)
    case workerGone(id: String, reason: String, at: Double)
    case counter(name: String, delta: Int)
    /// The coordinator applied every retry request up to this id (``Journal/retryRequests(after:)``).
    case retryRequestsApplied(upTo: Int64)
    /// Under CURVE, the worker id now belongs to this key for good (``Journal/workerKeys()``);
    /// a later binding of the same id is ignored.
    case workerKeyBound(id: String, key: String, at: Double)
}

/// A journal failure: the SQLite error plus which journal and what we were doing.
public struct JournalError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var underlying: String

    public var description: String { "journal \(path): \(operation) failed: \(underlying)" }
}

/// The coordinator's durable state: SQLite through GRDB, WAL mode.
///
/// A result counts as done only once ``JournalChange/unitDone(unit:path:sha256:packed:at:)``
/// is committed here, after the file's atomic rename (or the pack's write). Every method is blocking
/// (`@available(*, noasync)`): call it from the coordinator's own thread.
public final class Journal: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) a journal for writing.
    @available(*, noasync)
    public init(path: String) throws(JournalError) {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        // WAL + NORMAL survives process crashes (SIGKILL) without an fsync per transaction;
        // a power loss can drop the last transactions, which only means recomputing them.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw JournalError(path: path, operation: "open", underlying: "\(error)")
        }
    }

    /// Opens an existing journal read-only; works while a coordinator writes it (WAL).
    @available(*, noasync)
    public init(readOnlyPath path: String) throws(JournalError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw JournalError(path: path, operation: "open read-only", underlying: "no such file (is this a results folder?)")
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw JournalError(path: path, operation: "open read-only", underlying: "\(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE units (
                  id TEXT PRIMARY KEY NOT NULL, model TEXT NOT NULL, revision TEXT NOT NULL,
                  task TEXT NOT NULL, analysis TEXT NOT NULL, params TEXT NOT NULL,
                  dataset_hash TEXT NOT NULL, priority INTEGER NOT NULL, result_path TEXT,
                  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                  sha256 TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL, done_at REAL);
                CREATE INDEX units_state ON units(state);
                CREATE TABLE attempts (
                  lease INTEGER PRIMARY KEY NOT NULL, unit_id TEXT NOT NULL, worker_id TEXT NOT NULL,
                  started_at REAL NOT NULL, ended_at REAL, outcome TEXT, error TEXT);
                CREATE INDEX attempts_unit ON attempts(unit_id);
                CREATE TABLE leases (
                  lease INTEGER PRIMARY KEY NOT NULL, unit_id TEXT NOT NULL, worker_id TEXT NOT NULL,
                  issued_at REAL NOT NULL);
                CREATE TABLE workers (
                  id TEXT PRIMARY KEY NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
                  capacity INTEGER NOT NULL, joined_at REAL NOT NULL, last_seen REAL NOT NULL,
                  state TEXT NOT NULL, left_reason TEXT);
                CREATE TABLE counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                """)
        }
        m.registerMigration("v2-retry-requests") { db in
            // Units `circuitsweep retry` re-queued, for a running coordinator to pick up
            // (Journal+Retry.swift). The coordinator deletes the rows it applied.
            try db.execute(sql: """
                CREATE TABLE retry_requests (
                  id INTEGER PRIMARY KEY AUTOINCREMENT, unit_id TEXT NOT NULL, requested_at REAL NOT NULL);
                """)
        }
        m.registerMigration("v3-worker-keys") { db in
            // The CURVE key each worker id belongs to, so a restarted coordinator keeps refusing
            // other keys that speak for it (Coordinator.admit).
            try db.execute(sql: """
                CREATE TABLE worker_keys (
                  worker_id TEXT PRIMARY KEY NOT NULL, curve_key TEXT NOT NULL, bound_at REAL NOT NULL);
                """)
        }
        m.registerMigration("v4-result-packs") { db in
            // Done units whose result waits in a pack segment for its own file (PackedResult).
            try db.execute(sql: """
                ALTER TABLE units ADD COLUMN pack TEXT;
                ALTER TABLE units ADD COLUMN pack_offset INTEGER;
                ALTER TABLE units ADD COLUMN pack_length INTEGER;
                CREATE INDEX units_pack ON units(pack) WHERE pack IS NOT NULL;
                """)
        }
        m.registerMigration("v5-lean-per-unit-writes") { db in
            // Per unit, the journal wrote six statements; two of them only kept a `leases` table
            // that mirrors the attempts without an end, and two more kept an index on
            // `units.state` up to date. Open leases are now `attempts` rows with no `ended_at`;
            // the few queries by state (status, retry, restart) scan `units` instead.
            try db.execute(sql: """
                DROP TABLE leases;
                DROP INDEX units_state;
                """)
        }
        return m
    }

    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws(JournalError) -> T {
        do {
            return try pool.write(body)
        } catch {
            throw JournalError(path: path, operation: operation, underlying: "\(error)")
        }
    }

    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws(JournalError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw JournalError(path: path, operation: operation, underlying: "\(error)")
        }
    }

    // MARK: Planning

    /// Inserts planned units that are not in the journal yet and re-queues done units whose
    /// file is missing or corrupt. One transaction.
    @available(*, noasync)
    public func record(plan: [PlannedUnit], at now: Double) throws(JournalError) {
        try write("record plan") { db in
            let insert = try db.cachedStatement(sql: """
                INSERT INTO units (id, model, revision, task, analysis, params, dataset_hash, priority,
                  result_path, state, attempts, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                ON CONFLICT(id) DO UPDATE SET priority = excluded.priority
                """)
            let requeue = try db.cachedStatement(sql: """
                UPDATE units SET state = 'pending', sha256 = NULL, pack = NULL, pack_offset = NULL, pack_length = NULL,
                  last_error = ?, updated_at = ? WHERE id = ?
                """)
            var parameters: [AnalysisSpec: String] = [:]
            for unit in plan {
                let k = unit.key
                let json: String
                if let cached = parameters[k.analysis] {
                    json = cached
                } else {
                    json = k.parametersJSON
                    parameters[k.analysis] = json
                }
                try insert.execute(arguments: [
                    unit.id.hex, k.model, k.revision.name, k.task.name, k.analysis.name, json,
                    k.datasetHash, unit.priority, unit.resultPath, now, now,
                ])
                switch unit.reason {
                case .resultMissing, .resultCorrupt:
                    try requeue.execute(arguments: [unit.reason.description, now, unit.id.hex])
                default:
                    break
                }
            }
        }
    }

    /// Closes leases left open by a coordinator that stopped: their units go back to pending
    /// without counting an attempt (the worker may still deliver the result late).
    @available(*, noasync)
    public func recoverInterruptedLeases(at now: Double) throws(JournalError) {
        try write("recover leases") { db in
            try db.execute(sql: "UPDATE units SET state = 'pending', updated_at = ? WHERE state = 'leased'", arguments: [now])
            try db.execute(sql: """
                UPDATE attempts SET ended_at = ?, outcome = 'interrupted' WHERE ended_at IS NULL
                """, arguments: [now])
            try db.execute(sql: "UPDATE workers SET state = 'gone', left_reason = 'coordinator restart' WHERE state = 'active'")
            // The units of pending retry requests are already `pending` in `units`: the plan sees them.
            try db.execute(sql: "DELETE FROM retry_requests")
        }
    }

    /// Every unit row.
    @available(*, noasync)
    public func units() throws(JournalError) -> [UnitRecord] {
        try read("read units") { db in
            var out: [UnitRecord] = []
            out.reserveCapacity(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM units") ?? 0)
            // Model, task, analysis, parameters and dataset hash repeat across rows: one shared
            // copy of each distinct value instead of one heap string per row.
            var interned: [String: String] = [:]
            func shared(_ s: String) -> String {
                if let existing = interned[s] { return existing }
                interned[s] = s
                return s
            }
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, model, revision, task, analysis, params, dataset_hash, priority, state, attempts,
                       last_error, result_path, sha256, updated_at, pack, pack_offset, pack_length FROM units
                """)
            while let row = try rows.next() {
                let idText: String = row[0]
                let stateText: String = row[8]
                guard let id = UnitID(hex: idText), let state = UnitState(rawValue: stateText) else {
                    throw JournalError(path: path, operation: "read units", underlying: "bad row id=\(idText) state=\(stateText)")
                }
                var packed: PackedResult?
                if let pack: String = row[14] {
                    guard PackedResult.isValidName(pack), let offset: Int = row[15], let length: Int = row[16],
                          offset >= 0, length >= 0 else {
                        throw JournalError(path: path, operation: "read units", underlying: "bad pack location of unit \(idText)")
                    }
                    packed = PackedResult(pack: pack, offset: offset, length: length)
                }
                out.append(UnitRecord(
                    id: id, model: shared(row[1]), revision: row[2], task: shared(row[3]), analysis: shared(row[4]),
                    paramsJSON: shared(row[5]), datasetHash: shared(row[6]), priority: row[7], state: state,
                    attempts: row[9], lastError: row[10], resultPath: row[11], sha256: row[12], packed: packed,
                    updatedAt: row[13]))
            }
            return out
        }
    }

    /// The first lease id not used by any attempt so far (lease ids stay unique across restarts).
    @available(*, noasync)
    public func nextLeaseID() throws(JournalError) -> UInt64 {
        try read("read lease ids") { db in
            let max = try Int64.fetchOne(db, sql: "SELECT MAX(lease) FROM attempts") ?? 0
            return UInt64(max) + 1
        }
    }

    // MARK: Group commit

    /// Writes a batch of changes in one transaction.
    @available(*, noasync)
    public func apply(_ changes: [JournalChange]) throws(JournalError) {
        guard !changes.isEmpty else { return }
        try write("apply \(changes.count) changes") { db in
            for change in changes { try apply(change, db) }
        }
    }

    private func apply(_ change: JournalChange, _ db: Database) throws {
        switch change {
        case let .leaseIssued(unit, lease, worker, at):
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO attempts (lease, unit_id, worker_id, started_at) VALUES (?, ?, ?, ?)")
                .execute(arguments: [Int64(lease), unit.hex, worker, at])
            try db.cachedStatement(sql: "UPDATE units SET state = 'leased', updated_at = ? WHERE id = ? AND state = 'pending'")
                .execute(arguments: [at, unit.hex])
        case let .leaseEnded(unit, lease, outcome, error, at):
            try db.cachedStatement(sql: """
                INSERT INTO attempts (lease, unit_id, worker_id, started_at, ended_at, outcome, error)
                VALUES (?, ?, '', ?, ?, ?, ?)
                ON CONFLICT(lease) DO UPDATE SET ended_at = excluded.ended_at, outcome = excluded.outcome, error = excluded.error
                """).execute(arguments: [Int64(lease), unit.hex, at, at, outcome.rawValue, error])
        case let .unitState(unit, state, attempts, lastError, at):
            try db.cachedStatement(sql: """
                UPDATE units SET state = ?, attempts = ?, last_error = COALESCE(?, last_error), updated_at = ?
                WHERE id = ? AND state != 'done'
                """).execute(arguments: [state.rawValue, attempts, lastError, at, unit.hex])
        case let .unitDone(unit, path, sha, packed, at):
            try db.cachedStatement(sql: """
                UPDATE units SET state = 'done', result_path = ?, sha256 = ?, pack = ?, pack_offset = ?, pack_length = ?,
                  updated_at = ?, done_at = ? WHERE id = ?
                """).execute(arguments: [path, sha, packed?.pack, packed?.offset, packed?.length, at, at, unit.hex])
        case let .resultUnpacked(unit, pack):
            try db.cachedStatement(sql: """
                UPDATE units SET pack = NULL, pack_offset = NULL, pack_length = NULL WHERE id = ? AND pack = ?
                """).execute(arguments: [unit.hex, pack])
        case let .workerSeen(id, host, pid, capacity, at):
            try db.cachedStatement(sql: """
                INSERT INTO workers (id, host, pid, capacity, joined_at, last_seen, state) VALUES (?, ?, ?, ?, ?, ?, 'active')
                ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen, capacity = excluded.capacity, state = 'active'
                """).execute(arguments: [id, host, pid, capacity, at, at])
        case let .workerGone(id, reason, at):
            try db.cachedStatement(sql: "UPDATE workers SET state = 'gone', left_reason = ?, last_seen = ? WHERE id = ?")
                .execute(arguments: [reason, at, id])
        case let .counter(name, delta):
            try db.cachedStatement(sql: """
                INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value
                """).execute(arguments: [name, delta])
        case let .retryRequestsApplied(upTo):
            try db.cachedStatement(sql: "DELETE FROM retry_requests WHERE id <= ?").execute(arguments: [upTo])
        case let .workerKeyBound(id, key, at):
            try db.cachedStatement(sql: """
                INSERT INTO worker_keys (worker_id, curve_key, bound_at) VALUES (?, ?, ?) ON CONFLICT(worker_id) DO NOTHING
                """).execute(arguments: [id, key, at])
        }
    }
}
