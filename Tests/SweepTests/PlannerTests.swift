import Testing
@testable import Sweep

@Suite struct PlannerTests {
    static func spec(method: AttributionMethod = .noop, steps: Int = 30, analyses: Int = 1) -> SweepSpec {
        SweepSpec(
            models: [ModelSpec(name: "a", location: .folder(path: "a")),
                     ModelSpec(name: "b", location: .huggingFaceCache(root: "/hub", repo: "org/b"))],
            revisions: (try? RevisionSet.expand("pythia-154")) ?? [],
            tasks: [TaskSpec(name: "ioi", size: 70, seed: 42), TaskSpec(name: "sva", size: 100, seed: 1)],
            analyses: (0..<analyses).map { AnalysisSpec(name: "x\($0)", method: method, steps: steps) })
    }

    @Test func identityIsStableAndSensitive() {
        let key = UnitKey(model: "a", modelIdentity: "", revision: Revision("step1"), task: TaskSpec(name: "ioi", size: 70, seed: 42),
                          datasetHash: String(repeating: "0", count: 64), analysis: AnalysisSpec(method: .eap), resultSchemaVersion: 1)
        #expect(key.id == key.id)
        #expect(key.id.hex.count == 32)
        var other = key
        other.analysis.steps = 31
        #expect(other.id != key.id)
        other = key
        other.resultSchemaVersion = 2
        #expect(other.id != key.id)
        other = key
        other.datasetHash = String(repeating: "1", count: 64)
        #expect(other.id != key.id)
        // The planner's fast path computes the same id.
        let planned = Planner.enumerate(Self.spec(), resultSchemaVersion: 1)
        #expect(planned.allSatisfy { $0.id == $0.key.id })
    }

    @Test func enumeratesEveryUnitFinalFirst() {
        let units = Planner.enumerate(Self.spec(), resultSchemaVersion: 1)
        #expect(units.count == 2 * 154 * 2)
        #expect(Set(units.map(\.id)).count == units.count)
        // Final checkpoints of both models first, then step0, then a log-spaced midpoint.
        #expect(units.prefix(4).map(\.key.revision.name) == Array(repeating: "step143000", count: 4))
        #expect(units[4].key.revision.name == "step0")
        let third = units[8].key.revision.step ?? -1
        #expect(third > 100 && third < 1000, "midpoint in log space of 0…143000 is near 378: got \(third)")
        #expect(units[0].resultPath == "a/ioi/step143000.h5")
        // Units of one checkpoint are adjacent.
        #expect(units[0].key.checkpoint == units[1].key.checkpoint)
    }

    @Test func coverageOrderIsAPermutation() {
        for n in [1, 2, 3, 7, 154] {
            let ranks = Priority.coverageOrder(positions: (0..<n).map { Double($0) })
            #expect(Set(ranks) == Set(0..<n))
        }
        #expect(Priority.coverageOrder(positions: [0, 1, 2, 3, 4]) == [1, 3, 2, 4, 0])
    }

    @Test func manyAnalysesGetTheirOwnFolder() {
        let units = Planner.enumerate(Self.spec(analyses: 2), resultSchemaVersion: 1)
        #expect(units[0].resultPath == "a/ioi/x0/step143000.h5")
    }

    @Test func reasons() {
        let spec = Self.spec()
        let units = Planner.enumerate(spec, resultSchemaVersion: 1)
        func record(_ u: PlannedUnit, _ state: UnitState, attempts: Int = 0, sha: String? = nil, id: UnitID? = nil) -> UnitRecord {
            UnitRecord(id: id ?? u.id, model: u.key.model, revision: u.key.revision.name, task: u.key.task.name,
                       analysis: u.key.analysis.name, paramsJSON: "{}", datasetHash: u.key.datasetHash, priority: u.priority,
                       state: state, attempts: attempts, lastError: attempts > 0 ? "boom" : nil,
                       resultPath: u.resultPath, sha256: sha, updatedAt: 0)
        }
        let good = String(repeating: "a", count: 64)
        let journal = [
            record(units[0], .done, sha: good),
            record(units[1], .done, sha: good),
            record(units[2], .done, sha: good),
            record(units[3], .pending, attempts: 2),
            record(units[4], .quarantined, attempts: 3),
            record(units[5], .done, sha: good, id: UnitID(hex: String(repeating: "f", count: 32))),
        ]
        let plan = Planner.plan(spec, resultSchemaVersion: 1, journal: journal) { path, sha, _ in
            if path == units[1].resultPath { return .missing }
            if path == units[2].resultPath { return .corrupt("SHA-256 differs") }
            return sha == good ? .matches : .corrupt("?")
        }
        #expect(plan[0].reason == .done(path: units[0].resultPath))
        #expect(plan[1].reason == .resultMissing(path: units[1].resultPath))
        #expect(plan[2].reason == .resultCorrupt(path: units[2].resultPath, detail: "SHA-256 differs"))
        #expect(plan[3].reason == .failedBefore(attempts: 2, lastError: "boom"))
        #expect(plan[4].reason == .quarantined(attempts: 3, lastError: "boom"))
        #expect(plan[5].reason == .parametersChanged(previous: UnitID(hex: String(repeating: "f", count: 32))!))
        #expect(plan[6].reason == .new)
        #expect(plan.filter(\.willRun).count == plan.count - 2)
    }
}
