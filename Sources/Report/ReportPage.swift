import Aggregate
import Foundation

/// The sweep report: one self-contained HTML page with inline SVG charts (behaviour, circuit
/// size, faithfulness, stability and head scores over training, one line per model, per task),
/// the cross-scale table and every problem the aggregation found.
public enum ReportPage {
    public static func html(_ aggregate: SweepAggregate, title: String = "circuitsweep report") -> String {
        var body = "<h1>\(escapeHTML(title))</h1>"
        let checkpoints = aggregate.entries.reduce(0) { $0 + $1.series.records.count }
        body += "<p>\(aggregate.entries.count) series (model × task), \(checkpoints) checkpoints. "
        body += "x axes: tokens seen (log); step 0 has no place on a log axis and is left out. "
        body += "Tables in checkpoints.csv, stability.csv, heads.csv and scale.csv; all numbers in aggregate.h5 (schemas/aggregate.md).</p>"
        if !aggregate.problems.isEmpty {
            body += "<h2>Problems (\(aggregate.problems.count))</h2><ul class=\"problems\">"
            body += aggregate.problems.map { "<li>\(escapeHTML($0))</li>" }.joined() + "</ul>"
        }
        let groups = Dictionary(grouping: aggregate.entries) { [$0.series.key.task, $0.series.key.analysis] }
        for group in groups.keys.sorted(by: { ($0[0], $0[1]) < ($1[0], $1[1]) }) {
            let entries = (groups[group] ?? []).sorted { ($0.series.parameterCount ?? .max, $0.series.key.model) < ($1.series.parameterCount ?? .max, $1.series.key.model) }
            body += "<h2>Task \(escapeHTML(group[0]))\(group[1].isEmpty ? "" : " — analysis \(escapeHTML(group[1]))")</h2>"
            body += "<div class=\"grid\">" + taskCharts(entries).map(\.svg).joined() + "</div>"
            let scoreNames = Set(entries.flatMap { $0.heads.map(\.name) }).sorted()
            if !scoreNames.isEmpty {
                body += "<h3>Head scores</h3><p>The representative head of each model: a head reaching 0.33 × the model's peak score "
                body += "that sends and receives in-circuit edges at the most checkpoints (spec §5.6).</p>"
                body += "<div class=\"grid\">" + scoreNames.flatMap { headCharts($0, entries) }.map(\.svg).joined() + "</div>"
            }
        }
        body += scaleTable(aggregate.scale)
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title>
            <style>body{font-family:sans-serif;margin:24px;max-width:1500px}.grid{display:flex;flex-wrap:wrap;gap:12px}
            table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
            th:first-child,td:first-child{text-align:left}.problems li{color:#a00}</style></head>
            <body>\(body)</body></html>

            """
    }

    static func taskCharts(_ entries: [SweepAggregate.Entry]) -> [LineChart] {
        func line(_ e: SweepAggregate.Entry, _ value: (Int) -> Double?) -> LineChart.Line {
            LineChart.Line(label: e.series.key.model, points: e.series.records.indices.map { i in
                (x: tokens(e.series.records[i]), y: value(i) ?? .nan)
            })
        }
        func pairLine(_ e: SweepAggregate.Entry, _ values: [Double]) -> LineChart.Line {
            let st = e.stability
            return LineChart.Line(label: e.series.key.model, points: st.fromIndex.indices.map { p in
                (x: tokens(e.series.records[st.fromIndex[p]]), y: values[p])
            })
        }
        let metric = entries.lazy.flatMap(\.series.records).compactMap(\.behaviourMetric).first ?? "metric"
        return [
            LineChart(title: "Behaviour", xLabel: "tokens", yLabel: metric, logX: true,
                      lines: entries.map { e in line(e) { e.series.records[$0].behaviourMean } }),
            LineChart(title: "Circuit size", xLabel: "tokens", yLabel: "edges in circuit", logX: true,
                      lines: entries.map { e in line(e) { e.series.records[$0].circuit.map { Double($0.edges.count) } } }),
            LineChart(title: "Faithfulness of the minimal circuit", xLabel: "tokens", yLabel: "faithfulness", logX: true,
                      lines: entries.map { e in line(e) { e.series.records[$0].circuit?.faithfulness } }),
            LineChart(title: "Circuit stability (EWMA α=0.5 of edge Jaccard)", xLabel: "tokens", yLabel: "Jaccard",
                      logX: true, yRange: 0...1, lines: entries.map { pairLine($0, $0.stability.edgeJaccardEWMA) }),
            LineChart(title: "Node-set stability (EWMA α=0.5)", xLabel: "tokens", yLabel: "Jaccard", logX: true,
                      yRange: 0...1, lines: entries.map { pairLine($0, $0.stability.nodeJaccardEWMA) }),
            LineChart(title: "Edge Jaccard to the final checkpoint", xLabel: "tokens", yLabel: "Jaccard", logX: true,
                      yRange: 0...1, lines: entries.map { e in line(e) { e.stability.edgeJaccardToReference[$0] } }),
        ]
    }

    static func headCharts(_ name: String, _ entries: [SweepAggregate.Entry]) -> [LineChart] {
        var representative: [LineChart.Line] = [], circuitMax: [LineChart.Line] = []
        for e in entries {
            guard let h = e.heads.first(where: { $0.name == name }) else { continue }
            let xs = e.series.records.map(tokens)
            if let head = h.representative {
                representative.append(LineChart.Line(label: "\(e.series.key.model) (\(head))",
                                                     points: Array(zip(xs, h.trajectory(of: head))).map { (x: $0.0, y: $0.1) }))
            }
            circuitMax.append(LineChart.Line(label: e.series.key.model,
                                             points: Array(zip(xs, h.maxOverCircuitHeads)).map { (x: $0.0, y: $0.1) }))
        }
        return [
            LineChart(title: "\(name): representative head", xLabel: "tokens", yLabel: name, logX: true, lines: representative),
            LineChart(title: "\(name): best circuit head", xLabel: "tokens", yLabel: name, logX: true, lines: circuitMax),
        ]
    }

    static func scaleTable(_ scale: [ScaleSummary]) -> String {
        guard scale.contains(where: { !$0.models.isEmpty }) else { return "" }
        var out = "<h2>Circuit size vs model size</h2><p>Mean over checkpoints from step \(ScaleSummary.firstStep) on; "
        out += "Pearson r of mean nodes against parameter count (needs ≥ 3 models).</p><table>"
        out += "<tr><th>task</th><th>model</th><th>parameters</th><th>mean nodes</th><th>mean edges</th><th>r (nodes, parameters)</th></tr>"
        for s in scale {
            for (m, model) in s.models.enumerated() {
                let r = s.nodesVersusParameters.map { String(format: "%.3f", $0) } ?? "—"
                out += "<tr><td>\(escapeHTML(s.task))\(s.analysis.isEmpty ? "" : "/" + escapeHTML(s.analysis))</td><td>\(escapeHTML(model))</td>"
                out += "<td>\(s.parameterCounts[m])</td><td>\(String(format: "%.1f", s.meanCircuitNodes[m]))</td>"
                out += "<td>\(String(format: "%.1f", s.meanCircuitEdges[m]))</td><td>\(r)</td></tr>"
            }
        }
        return out + "</table>"
    }

    private static func tokens(_ record: CheckpointRecord) -> Double { record.tokens.map(Double.init) ?? .nan }
}
