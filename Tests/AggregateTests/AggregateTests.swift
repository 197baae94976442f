import Foundation
import Testing
@testable import Aggregate
import Report
import Results

/// Hand-computed answers on a tiny graph of 8 edges and 3 checkpoints.
@Suite struct AggregateTests {
    static let edgeNames = ["input->a0.h0<q>", "input->m0", "a0.h0->m0", "a0.h0->logits",
                            "m0->logits", "a0.h1->logits", "input->a0.h1<v>", "a0.h1->m0"]

    /// One unit result of model `model`, task "t" at `step`, with a minimal circuit over `edges`.
    static func result(model: String = "m", step: Int, edges: Set<Int>, score: Float, induction: [Float],
                       parameters: Int = 1000) -> UnitResult {
        let mask = edgeNames.indices.map { edges.contains($0) }
        return UnitResult(
            identity: UnitIdentity(unitID: "u\(step)", model: model, revision: "step\(step)", task: "t",
                                   parameterCount: parameters, trainingStep: step, tokensSeen: step * 2_097_152),
            provenance: Provenance(softwareVersion: "test", host: "h"),
            attribution: Attribution(edgeNames: edgeNames, scores: Array(repeating: score, count: edgeNames.count)),
            minimalCircuit: MinimalCircuit(mask: mask, edgeCount: edges.count, nodeCount: 0, faithfulness: 0.8 + Double(step) * 1e-7,
                                           threshold: 0.8, normalization: "ratio"),
            baseline: Baseline(fullMetric: Double(step) / 1000, emptyMetric: -1),
            behaviour: Behaviour(metric: "logit_diff", mean: Double(step) / 1000, perExample: [Double(step) / 1000], accuracy: 1),
            headScores: ["induction": HeadScores(layers: 1, heads: 2, values: induction)])
    }

    static let results = [
        result(step: 2000, edges: [0, 2, 3, 4], score: 2, induction: [0.8, 0.2]),
        result(step: 1000, edges: [0, 2, 4], score: 1, induction: [0.1, 0.9]),
        result(step: 143_000, edges: [1, 4], score: 1, induction: [0.5, 0.5]),
    ]

    static func series() -> CheckpointSeries {
        CheckpointSeries(key: SeriesKey(model: "m", task: "t"), parameterCount: 1000, records: results.map(CheckpointRecord.init))
    }

    @Test func setMeasuresMatchTheirDefinitions() {
        #expect(SetSimilarity.jaccard([1, 2, 3], [2, 3, 4]) == 0.5)
        #expect(SetSimilarity.jaccard([], []) == 0)
        #expect(SetSimilarity.editDistance([1, 2, 3], [2, 3, 4, 5]) == 3)
        // Uniform weights 1/3 and 1/4 over {0,2,4} and {0,2,3,4}: Σmin = 3/4, Σmax = 1 + 1/4.
        #expect(abs(SetSimilarity.weightedJaccard([0, 2, 4], [1, 1, 1], [0, 2, 3, 4], [2, 2, 2, 2]) - 0.6) < 1e-12)
        #expect(SetSimilarity.weightedEditDistance([0, 2, 4], [1, 1, -1], [0, 3], [5, 7]) == 7 + 1 - 1)
        #expect(SetSimilarity.totalScoreChange([0, 2, 4], [1, 1, 1], [0, 2, 3], [3, -1, 9]) == 2 + 2)
        #expect(SetSimilarity.ewma([1, 0, 1, .nan, 0], alpha: 0.5) == [1, 0.5, 0.75, 0.75, 0.375])
        #expect(SetSimilarity.changeRate(weightedJaccards: [1, 0, 0.5], alpha: 0.5) == [0, 0.5, 0.5])
        #expect(abs((SetSimilarity.pearson([1, 2, 3, 4], [2, 4, 6, 8.5]) ?? 0) - 0.998381439457) < 1e-9)
        #expect(SetSimilarity.pearson([1, 2], [1, 2]) == nil)
        #expect(SetSimilarity.pearson([1, 2, 3], [5, 5, 5]) == nil)
    }

    @Test func edgeNamesGiveNodesAndCircuitHeads() throws {
        #expect(CircuitSnapshot.endpoints(of: "a1.h2->a4.h0<v>") == ("a1.h2", "a4.h0"))
        #expect(CircuitSnapshot.endpoints(of: "m3->logits") == ("m3", "logits"))
        #expect(HeadIndex(node: "a11.h7") == HeadIndex(layer: 11, head: 7))
        #expect(HeadIndex(node: "m1") == nil && HeadIndex(node: "input") == nil && HeadIndex(node: "a1.x") == nil)
        let circuit = try #require(CheckpointRecord(Self.results[1]).circuit)
        #expect(circuit.edges == [0, 2, 4] && circuit.source == "minimal")
        #expect(circuit.nodes == ["input", "a0.h0", "m0", "logits"])
        #expect(circuit.circuitHeads == [HeadIndex(layer: 0, head: 0)])
    }

    @Test func stabilityOverTrainingOrder() {
        let series = Self.series()
        #expect(series.records.map(\.step) == [1000, 2000, 143_000])
        let s = StabilitySeries(series)
        #expect(s.fromIndex == [0, 1] && s.toIndex == [1, 2])
        #expect(s.edgeJaccard == [0.75, 0.2])
        #expect(s.edgeJaccardEWMA == [0.75, 0.475])
        #expect(s.nodeJaccard == [1, 0.75])
        #expect(s.editDistance == [1, 4])
        #expect(s.weightedEditDistance == [2, 1 + 2 + 2 + 2])   // added e1 (score 1); deleted e0, e2, e3 (score 2 each)
        #expect(s.totalScoreChange[0] == 3)                      // e0, e2, e4: 1 → 2
        #expect(abs(s.weightedJaccard[0] - 0.6) < 1e-12)
        #expect(s.referenceIndex == 2)
        #expect(s.edgeJaccardToReference == [0.25, 0.2, 1])
    }

    @Test func headSeriesSummariesAndRepresentative() throws {
        let h = try #require(HeadSeries(name: "induction", series: Self.series()))
        #expect(h.values == [0.1, 0.9, 0.8, 0.2, 0.5, 0.5])
        #expect(h.maxOverHeads.map { Float($0) } == [0.9, 0.8, 0.5])
        #expect(h.maxOverCircuitHeads[0] == Double(Float(0.1)) && h.maxOverCircuitHeads[1] == Double(Float(0.8)))
        #expect(h.maxOverCircuitHeads[2].isNaN)                 // {e1, e4} has no attention head
        #expect(abs(h.threshold - 0.33 * Double(Float(0.9))) < 1e-12)
        #expect(h.emergenceIndex == 1)                            // 0.8 ≥ 0.297 at step 2000; 0.1 at step 1000 is not
        #expect(h.candidates == [HeadIndex(layer: 0, head: 0)])  // a0.h1 peaks higher but is never a circuit head
        #expect(h.trajectory(of: HeadIndex(layer: 0, head: 1)).map { Float($0) } == [0.9, 0.2, 0.5])
    }

    @Test func scaleSummaryCorrelatesNodesWithParameters() {
        let series = [(10, "small", [1]), (20, "mid", [0, 2]), (40, "big", [0, 2, 4, 1])].map { params, name, edges in
            CheckpointSeries(key: SeriesKey(model: name, task: "t"), parameterCount: params, records: [
                CheckpointRecord(Self.result(model: name, step: 500, edges: [], score: 1, induction: [0, 0])),  // before step 1000: left out
                CheckpointRecord(Self.result(model: name, step: 1000, edges: Set(edges), score: 1, induction: [0, 0])),
            ])
        }
        let summary = ScaleSummary(task: "t", analysis: "", series: series)
        #expect(summary.models == ["small", "mid", "big"])
        #expect(summary.meanCircuitNodes == [2, 3, 4])   // {input, m0}; {input, a0.h0, m0}; all four
        #expect(summary.meanCircuitEdges == [1, 2, 4])
        let r = SetSimilarity.pearson([10, 20, 40], [2, 3, 4])
        #expect(summary.nodesVersusParameters == r && r != nil)
    }

    @Test func readsAResultsFolderWritesAndReadsAggregateCSVAndReport() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("aggtest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let results = root.appendingPathComponent("results")
        let folder = results.appendingPathComponent("m/t")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for r in Self.results { _ = try UnitResultFile.write(r, to: folder.appendingPathComponent("\(r.identity.revision).h5")) }
        let corrupt = folder.appendingPathComponent("step5.h5")
        try Data("not hdf5".utf8).write(to: corrupt)

        let (series, problems) = ResultsFolderReader.read(results)
        #expect(series == [Self.series()])
        #expect(problems.count == 1 && problems[0].contains(corrupt.path), "\(problems)")

        let aggregate = SweepAggregate(series: series, problems: problems)
        let file = root.appendingPathComponent("aggregate.h5")
        try AggregateFile.write(aggregate, to: file, softwareVersion: "test")
        let back = try AggregateFile.read(file)
        #expect(back.entries.map(\.series) == aggregate.entries.map(\.series))
        #expect(back.problems == problems)
        #expect(back.entries[0].stability.edgeJaccard == [0.75, 0.2])
        #expect(back.entries[0].heads.map(\.candidates) == [[HeadIndex(layer: 0, head: 0)]])

        let tables = AggregateCSV.tables(aggregate)
        let checkpoints = try #require(tables["checkpoints.csv"]).split(separator: "\n")
        #expect(checkpoints.count == 4)
        #expect(checkpoints[1].hasPrefix("m,t,,1000,step1000,1000,2097152000,logit_diff,1.0,1.0,1.0,-1.0,minimal,3,4,"))
        let stability = try #require(tables["stability.csv"]).split(separator: "\n")
        #expect(stability[2].hasPrefix("m,t,,step2000,step143000,2000,143000,299892736000,0.2,0.475,0.75,"))

        let html = ReportPage.html(aggregate)
        #expect(html.contains("<svg") && html.contains("Circuit stability") && html.contains("induction: representative head"))
        #expect(html.contains("m (0.0)") && html.contains(escapedPath(corrupt.path)))
    }

    @Test func aggregateFileRejectsOtherFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("aggtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let unit = root.appendingPathComponent("unit.h5")
        _ = try UnitResultFile.write(Self.results[0], to: unit)
        #expect { try AggregateFile.read(unit) } throws: { "\($0)".contains("not a circuitsweep aggregate file") }
    }

    @Test func csvQuotesFieldsThatNeedIt() {
        #expect(AggregateCSV.render([["a", "b,c", "say \"hi\""]]) == "a,\"b,c\",\"say \"\"hi\"\"\"\n")
    }

    private func escapedPath(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;") }
}
