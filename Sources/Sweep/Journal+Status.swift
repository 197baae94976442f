import GRDB

/// A snapshot of a sweep's progress, read from the journal.
public struct JournalStatus: Sendable {
    public struct ErrorEntry: Sendable {
        public var unit: String
        public var model: String
        public var revision: String
        public var task: String
        public var worker: String
        public var outcome: String
        public var error: String
        public var at: Double
    }

    public struct WorkerEntry: Sendable {
        public var id: String
        public var host: String
        public var pid: Int
        public var capacity: Int
        public var state: String
        public var lastSeen: Double
    }

    public struct QuarantinedEntry: Sendable {
        public var unit: String
        public var model: String
        public var revision: String
        public var task: String
        public var analysis: String
        public var attempts: Int
        public var lastError: String?
    }

    public var counts: [UnitState: Int]
    public var total: Int { counts.values.reduce(0, +) }
    public var liveLeases: Int
    public var workers: [WorkerEntry]
    public var recentErrors: [ErrorEntry]
    public var quarantined: [QuarantinedEntry]
    public var counters: [String: Int]
    /// Units done per model and task.
    public var donePerModelTask: [(model: String, task: String, done: Int, total: Int)]
    /// Done units whose result still waits in a pack for its own file.
    public var resultsInPacks: Int = 0
}

extension Journal {
    /// Counts, workers, the 20 latest errors, quarantined units and counters.
    @available(*, noasync)
    public func status(errorLimit: Int = 20) throws(JournalError) -> JournalStatus {
        do {
            return try pool.read { db in
                var counts: [UnitState: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM units GROUP BY state") {
                    if let s = UnitState(rawValue: row[0]) { counts[s] = row[1] }
                }
                let leases = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempts WHERE ended_at IS NULL") ?? 0
                let workers = try Row.fetchAll(db, sql: "SELECT id, host, pid, capacity, state, last_seen FROM workers ORDER BY last_seen DESC LIMIT 200")
                    .map { JournalStatus.WorkerEntry(id: $0[0], host: $0[1], pid: $0[2], capacity: $0[3], state: $0[4], lastSeen: $0[5]) }
                let errors = try Row.fetchAll(db, sql: """
                    SELECT a.unit_id, u.model, u.revision, u.task, a.worker_id, a.outcome, a.error, a.ended_at
                    FROM attempts a JOIN units u ON u.id = a.unit_id
                    WHERE a.error IS NOT NULL ORDER BY a.ended_at DESC LIMIT ?
                    """, arguments: [errorLimit]).map {
                    JournalStatus.ErrorEntry(unit: $0[0], model: $0[1], revision: $0[2], task: $0[3], worker: $0[4],
                                             outcome: $0[5] ?? "", error: $0[6], at: $0[7] ?? 0)
                }
                let quarantined = try Row.fetchAll(db, sql: """
                    SELECT id, model, revision, task, analysis, attempts, last_error FROM units
                    WHERE state = 'quarantined' ORDER BY priority LIMIT 1000
                    """).map {
                    JournalStatus.QuarantinedEntry(unit: $0[0], model: $0[1], revision: $0[2], task: $0[3], analysis: $0[4],
                                                   attempts: $0[5], lastError: $0[6])
                }
                var counters: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counters") { counters[row[0]] = row[1] }
                let perModel = try Row.fetchAll(db, sql: """
                    SELECT model, task, SUM(state = 'done'), COUNT(*) FROM units GROUP BY model, task ORDER BY model, task
                    """).map { (model: $0[0] as String, task: $0[1] as String, done: $0[2] as Int, total: $0[3] as Int) }
                let inPacks = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM units WHERE pack IS NOT NULL") ?? 0
                return JournalStatus(counts: counts, liveLeases: leases, workers: workers, recentErrors: errors,
                                     quarantined: quarantined, counters: counters, donePerModelTask: perModel,
                                     resultsInPacks: inPacks)
            }
        } catch {
            throw JournalError(path: path, operation: "read status", underlying: "\(error)")
        }
    }
}

/// One row of the `attempts` table (one lease).
public struct AttemptRecord: Sendable, Equatable {
    public var lease: UInt64
    public var unit: String
    public var worker: String
    public var startedAt: Double
    public var endedAt: Double?
    public var outcome: String?
    public var error: String?
}

extension Journal {
    /// Every attempt, in lease order (the complete error history).
    @available(*, noasync)
    public func attempts() throws(JournalError) -> [AttemptRecord] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT lease, unit_id, worker_id, started_at, ended_at, outcome, error FROM attempts ORDER BY lease")
                    .map { AttemptRecord(lease: UInt64($0[0] as Int64), unit: $0[1], worker: $0[2], startedAt: $0[3],
                                         endedAt: $0[4], outcome: $0[5], error: $0[6]) }
            }
        } catch {
            throw JournalError(path: path, operation: "read attempts", underlying: "\(error)")
        }
    }
}
