import Foundation

/// A unit as enumerated from the sweep, with its place in the queue and the reason it will
/// (or will not) run.
public struct PlannedUnit: Sendable, Equatable {
    public var id: UnitID
    public var key: UnitKey
    /// Lower runs earlier.
    public var priority: Int
    /// Relative to the results folder: `<model>/<task>/<revision>.h5`, or
    /// `<model>/<task>/<analysis>/<revision>.h5` when the sweep has several analyses.
    public var resultPath: String
    public var reason: PlanReason

    public var willRun: Bool { reason.willRun }
}

/// Why a unit will run, or why not.
public enum PlanReason: Sendable, Equatable, CustomStringConvertible {
    /// Not in the journal, or in it but never attempted.
    case new
    /// The journal has a unit for the same (model, revision, task, analysis name) whose
    /// parameters (method, steps, dataset, schema…) differ.
    case parametersChanged(previous: UnitID)
    /// Attempted before and not finished.
    case failedBefore(attempts: Int, lastError: String?)
    /// Done in the journal, but the file is gone.
    case resultMissing(path: String)
    /// Done in the journal, but the file does not match its SHA-256 or cannot be read.
    case resultCorrupt(path: String, detail: String)
    /// Done: the file is there and matches the journal's SHA-256.
    case done(path: String)
    /// Failed `attempts` times; stays out until `circuitsweep retry --quarantined`.
    case quarantined(attempts: Int, lastError: String?)

    public var willRun: Bool {
        switch self {
        case .done, .quarantined: false
        default: true
        }
    }

    public var description: String {
        switch self {
        case .new: "new"
        case .parametersChanged(let p): "parameters changed (was \(p))"
        case .failedBefore(let n, let e): "failed before (\(n) attempt\(n == 1 ? "" : "s")\(e.map { ": \($0)" } ?? ""))"
        case .resultMissing(let p): "result missing: \(p)"
        case .resultCorrupt(let p, let d): "result corrupt: \(p): \(d)"
        case .done(let p): "done: \(p)"
        case .quarantined(let n, let e): "quarantined after \(n) attempts\(e.map { ": \($0)" } ?? "")"
        }
    }
}

/// What the planner learns about a result file from the shell.
public enum ResultFileStatus: Sendable, Equatable {
    case matches
    case missing
    case corrupt(String)
}

/// Enumerates units and decides which run. Pure: the journal rows and a file check come in.
public enum Planner {
    /// Every unit of the sweep, in priority order.
    ///
    /// - Parameters:
    ///   - spec: the sweep.
    ///   - datasetHash: the dataset hash of a task (the generated dataset's SHA-256 when known).
    ///   - resultSchemaVersion: the `Results` schema version results are written with.
    ///   - journal: the journal's unit rows (empty for a fresh sweep).
    ///   - checkFile: verifies a done unit's result (relative path, expected SHA-256, and the
    ///     pack segment that holds it while its file is not written yet).
    public static func plan(
        _ spec: SweepSpec,
        datasetHash: (TaskSpec) -> String = { $0.specHash },
        resultSchemaVersion: Int,
        journal: [UnitRecord],
        checkFile: (String, String, PackedResult?) -> ResultFileStatus
    ) -> [PlannedUnit] {
        var units = enumerate(spec, datasetHash: datasetHash, resultSchemaVersion: resultSchemaVersion)
        // Row positions by id; the (model, revision, task, analysis) slot index is only built
        // when some unit is not in the journal (a restart of an unchanged sweep never needs it).
        var byID: [UnitID: Int] = [:]
        byID.reserveCapacity(journal.count)
        for (n, r) in journal.enumerated() { byID[r.id] = n }
        var bySlot: [String: Int]?
        for n in units.indices {
            if let row = byID[units[n].id] {
                units[n].reason = reason(for: units[n], row: journal[row], checkFile: checkFile)
                continue
            }
            if bySlot == nil {
                var index: [String: Int] = [:]
                index.reserveCapacity(journal.count)
                for (n, r) in journal.enumerated() {
                    index[slot(model: r.model, revision: r.revision, task: r.task, analysis: r.analysis)] = n
                }
                bySlot = index
            }
            let k = units[n].key
            if let previous = bySlot?[slot(model: k.model, revision: k.revision.name, task: k.task.name, analysis: k.analysis.name)] {
                units[n].reason = .parametersChanged(previous: journal[previous].id)
            }
        }
        return units
    }

    /// Every unit with reason `.new`, sorted by priority.
    public static func enumerate(
        _ spec: SweepSpec, datasetHash: (TaskSpec) -> String = { $0.specHash }, resultSchemaVersion: Int
    ) -> [PlannedUnit] {
        let hashes = spec.tasks.map(datasetHash)
        let taskJSON = spec.tasks.map { UnitKey.canonicalJSON($0) }
        let analysisJSON = spec.analyses.map { UnitKey.canonicalJSON($0) }
        let taskCount = spec.tasks.count, analysisCount = spec.analyses.count
        let perCheckpoint = taskCount * analysisCount
        let modelCount = spec.models.count
        var units: [PlannedUnit] = []
        for (m, model) in spec.models.enumerated() {
            let revisions = spec.revisions(of: model)
            let ranks = Priority.revisionRanks(revisions, policy: spec.priority)
            for (revision, rank) in zip(revisions, ranks) {
                for (t, task) in spec.tasks.enumerated() {
                    for (a, analysis) in spec.analyses.enumerated() {
                        let key = UnitKey(model: model.name, modelIdentity: model.location.identity,
                                          revision: revision, task: task, datasetHash: hashes[t],
                                          analysis: analysis, resultSchemaVersion: resultSchemaVersion)
                        let priority = (rank * modelCount + m) * perCheckpoint + t * analysisCount + a
                        let path = analysisCount == 1
                            ? "\(model.name)/\(task.name)/\(revision.name).h5"
                            : "\(model.name)/\(task.name)/\(analysis.name)/\(revision.name).h5"
                        let id = UnitKey.id(identityText: key.identityText(taskJSON: taskJSON[t], analysisJSON: analysisJSON[a]))
                        units.append(PlannedUnit(id: id, key: key, priority: priority, resultPath: path, reason: .new))
                    }
                }
            }
        }
        units.sort { $0.priority < $1.priority }
        return units
    }

    static func slot(model: String, revision: String, task: String, analysis: String) -> String {
        "\(model)\u{0}\(revision)\u{0}\(task)\u{0}\(analysis)"
    }

    static func reason(for unit: PlannedUnit, row: UnitRecord,
                       checkFile: (String, String, PackedResult?) -> ResultFileStatus) -> PlanReason {
        switch row.state {
        case .done:
            let path = row.resultPath ?? unit.resultPath
            guard let sha = row.sha256 else { return .resultCorrupt(path: path, detail: "no SHA-256 in the journal") }
            switch checkFile(path, sha, row.packed) {
            case .matches: return .done(path: path)
            case .missing: return .resultMissing(path: path)
            case .corrupt(let detail): return .resultCorrupt(path: path, detail: detail)
            }
        case .quarantined:
            return .quarantined(attempts: row.attempts, lastError: row.lastError)
        case .pending, .leased:
            return row.attempts > 0 ? .failedBefore(attempts: row.attempts, lastError: row.lastError) : .new
        }
    }
}

/// Unit ordering policies.
public enum Priority {
    /// Rank of each revision (same order as `revisions`, which must be sorted); 0 runs first.
    public static func revisionRanks(_ revisions: [Revision], policy: PriorityPolicy) -> [Int] {
        let n = revisions.count
        guard n > 0 else { return [] }
        switch policy {
        case .inOrder:
            return Array(0..<n)
        case .finalFirst:
            return coverageOrder(positions: logPositions(revisions))
        }
    }

    /// log(1 + step) per revision; names without a step continue past the last step.
    static func logPositions(_ revisions: [Revision]) -> [Double] {
        var last = 0.0
        return revisions.map { r in
            if let s = r.step {
                last = log1pApprox(Double(s))
            } else {
                last += 1
            }
            return last
        }
    }

    private static func log1pApprox(_ x: Double) -> Double { log1p(x) }

    /// Final first, then the first, then midpoints (in position space) breadth first.
    static func coverageOrder(positions: [Double]) -> [Int] {
        let n = positions.count
        var rank = [Int](repeating: -1, count: n)
        var next = 0
        func give(_ i: Int) { if rank[i] < 0 { rank[i] = next; next += 1 } }
        give(n - 1)
        give(0)
        var queue: [(Int, Int)] = [(0, n - 1)]
        var head = 0
        while head < queue.count {
            let (lo, hi) = queue[head]
            head += 1
            guard hi - lo >= 2 else { continue }
            let target = (positions[lo] + positions[hi]) / 2
            // Closest interior index to the midpoint position (positions are sorted).
            var a = lo + 1, b = hi - 1
            while a <= b {
                let mid = (a + b) / 2
                if positions[mid] < target { a = mid + 1 } else { b = mid - 1 }
            }
            // `a` is the first index at or past the target; compare it with its left neighbour.
            var best = min(max(a, lo + 1), hi - 1)
            if best - 1 > lo, abs(positions[best - 1] - target) <= abs(positions[best] - target) { best -= 1 }
            give(best)
            queue.append((lo, best))
            queue.append((best, hi))
        }
        return rank
    }
}

