import GRDB

/// Which quarantined units `circuitsweep retry` puts back in the queue. Every given
/// criterion must match; an empty filter matches every quarantined unit.
public struct RetryFilter: Sendable, Equatable {
    /// Unit ids or id prefixes (a prefix matches every unit it begins); empty: any unit.
    public var units: [String]
    public var model: String?
    public var task: String?

    public init(units: [String] = [], model: String? = nil, task: String? = nil) {
        self.units = units
        self.model = model
        self.task = task
    }

    func matches(id: String, model: String, task: String) -> Bool {
        (units.isEmpty || units.contains { id.hasPrefix($0) })
            && (self.model.map { $0 == model } ?? true)
            && (self.task.map { $0 == task } ?? true)
    }
}

/// What ``Journal/retry(_:at:)`` did.
public struct RetryOutcome: Sendable, Equatable {
    /// The units now pending again, with attempts reset.
    public var requeued: [UnitID]
    /// Ids or prefixes of ``RetryFilter/units`` that matched no quarantined unit, with the
    /// state of the unit they name (`nil`: no such unit).
    public var unmatched: [(unit: String, state: UnitState?)]

    public static func == (a: RetryOutcome, b: RetryOutcome) -> Bool {
        a.requeued == b.requeued && a.unmatched.map(\.unit) == b.unmatched.map(\.unit)
            && a.unmatched.map(\.state) == b.unmatched.map(\.state)
    }
}

/// One retry request for a running coordinator.
public struct RetryRequest: Sendable, Equatable {
    public var id: Int64
    public var unit: UnitID
}

// Live retry: `retry` marks the units pending (so a coordinator started later plans them)
// AND appends them to `retry_requests` in the same transaction. A running coordinator polls
// that table (``retryRequests(after:)``), re-queues the units in its scheduler, and deletes
// the rows in its next group commit (``JournalChange/retryRequestsApplied(upTo:)``). A
// coordinator that starts deletes every row before it reads the units (they are pending
// already), so each request takes effect exactly once whatever the interleaving.
extension Journal {
    /// Puts the quarantined units matching `filter` back to pending with their attempt count
    /// reset (their error history in `attempts` is kept) and queues them for a running
    /// coordinator. One transaction.
    @available(*, noasync)
    public func retry(_ filter: RetryFilter, at now: Double) throws(JournalError) -> RetryOutcome {
        try write("retry quarantined units") { db in
            var requeued: [UnitID] = []
            var used = Set<String>()
            let rows = try Row.fetchCursor(db, sql: "SELECT id, model, task FROM units WHERE state = 'quarantined' ORDER BY priority, id")
            while let row = try rows.next() {
                let id: String = row[0]
                guard filter.matches(id: id, model: row[1], task: row[2]), let unit = UnitID(hex: id) else { continue }
                requeued.append(unit)
                for u in filter.units where id.hasPrefix(u) { used.insert(u) }
            }
            let update = try db.cachedStatement(sql: """
                UPDATE units SET state = 'pending', attempts = 0, updated_at = ? WHERE id = ? AND state = 'quarantined'
                """)
            let request = try db.cachedStatement(sql: "INSERT INTO retry_requests (unit_id, requested_at) VALUES (?, ?)")
            for unit in requeued {
                try update.execute(arguments: [now, unit.hex])
                try request.execute(arguments: [unit.hex, now])
            }
            var unmatched: [(unit: String, state: UnitState?)] = []
            for u in filter.units where !used.contains(u) {
                let state = try String.fetchOne(db, sql: "SELECT state FROM units WHERE id LIKE ? || '%' ORDER BY id LIMIT 1",
                                                arguments: [u])
                unmatched.append((u, state.flatMap(UnitState.init(rawValue:))))
            }
            return RetryOutcome(requeued: requeued, unmatched: unmatched)
        }
    }

    /// Every quarantined unit back to pending; returns how many. See ``retry(_:at:)``.
    @available(*, noasync)
    public func retryQuarantined(at now: Double) throws(JournalError) -> Int {
        try retry(RetryFilter(), at: now).requeued.count
    }

    /// Every worker id bound to a CURVE key, by id (``JournalChange/workerKeyBound(id:key:at:)``).
    @available(*, noasync)
    public func workerKeys() throws(JournalError) -> [String: String] {
        try read("read worker keys") { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT worker_id, curve_key FROM worker_keys").map { row in
                (row[0] as String, row[1] as String)
            }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Retry requests with an id above `after`, oldest first (cheap when there are none:
    /// the coordinator calls it a few times a second).
    @available(*, noasync)
    public func retryRequests(after: Int64) throws(JournalError) -> [RetryRequest] {
        try read("read retry requests") { db in
            try Row.fetchAll(db, sql: "SELECT id, unit_id FROM retry_requests WHERE id > ? ORDER BY id LIMIT 100000",
                             arguments: [after]).compactMap { row in
                UnitID(hex: row[1]).map { RetryRequest(id: row[0], unit: $0) }
            }
        }
    }
}
