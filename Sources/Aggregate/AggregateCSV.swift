import Foundation

/// The aggregate as CSV tables (one row per model × task × checkpoint, etc.), for pandas, R or
/// a spreadsheet. Empty cells are absent values.
public enum AggregateCSV {
    /// File name → contents.
    public static func tables(_ aggregate: SweepAggregate) -> [String: String] {
        var checkpoints = [["model", "task", "analysis", "parameters", "revision", "step", "tokens",
                            "behaviour_metric", "behaviour_mean", "accuracy", "full_metric", "empty_metric",
                            "circuit_source", "circuit_edges", "circuit_nodes", "faithfulness",
                            "edge_jaccard_to_reference", "node_jaccard_to_reference", "weighted_jaccard_to_reference"]]
        var stability = [["model", "task", "analysis", "from_revision", "to_revision", "from_step", "to_step",
                          "to_tokens", "edge_jaccard", "edge_jaccard_ewma", "node_jaccard", "node_jaccard_ewma",
                          "weighted_jaccard", "change_rate", "edit_distance", "weighted_edit_distance",
                          "total_score_change"]]
        var heads = [["model", "task", "analysis", "score", "revision", "step", "tokens", "max_over_heads",
                      "max_over_circuit_heads", "representative_head", "representative_score"]]
        for entry in aggregate.entries {
            let s = entry.series, key = s.key, r = s.records, st = entry.stability
            let prefix = [key.model, key.task, key.analysis]
            for (i, rec) in r.enumerated() {
                checkpoints.append(prefix + [cell(s.parameterCount), rec.revision, cell(rec.step), cell(rec.tokens),
                    rec.behaviourMetric ?? "", cell(rec.behaviourMean), cell(rec.accuracy), cell(rec.fullMetric),
                    cell(rec.emptyMetric), rec.circuit?.source ?? "", cell(rec.circuit?.edges.count),
                    cell(rec.circuit?.nodes.count), cell(rec.circuit?.faithfulness),
                    cell(st.edgeJaccardToReference[i]), cell(st.nodeJaccardToReference[i]),
                    cell(st.weightedJaccardToReference[i])])
            }
            for p in st.fromIndex.indices {
                let (a, b) = (r[st.fromIndex[p]], r[st.toIndex[p]])
                stability.append(prefix + [a.revision, b.revision, cell(a.step), cell(b.step), cell(b.tokens),
                    cell(st.edgeJaccard[p]), cell(st.edgeJaccardEWMA[p]), cell(st.nodeJaccard[p]),
                    cell(st.nodeJaccardEWMA[p]), cell(st.weightedJaccard[p]), cell(st.changeRate[p]),
                    cell(st.editDistance[p]), cell(st.weightedEditDistance[p]), cell(st.totalScoreChange[p])])
            }
            for h in entry.heads {
                let representative = h.representative.map(h.trajectory(of:))
                for (i, rec) in r.enumerated() {
                    heads.append(prefix + [h.name, rec.revision, cell(rec.step), cell(rec.tokens),
                        cell(h.maxOverHeads[i]), cell(h.maxOverCircuitHeads[i]), h.representative?.description ?? "",
                        cell(representative?[i])])
                }
            }
        }
        var scale = [["task", "analysis", "model", "parameters", "mean_circuit_nodes", "mean_circuit_edges",
                      "nodes_vs_parameters_pearson"]]
        for summary in aggregate.scale {
            for (m, model) in summary.models.enumerated() {
                scale.append([summary.task, summary.analysis, model, "\(summary.parameterCounts[m])",
                              cell(summary.meanCircuitNodes[m]), cell(summary.meanCircuitEdges[m]),
                              cell(summary.nodesVersusParameters)])
            }
        }
        return ["checkpoints.csv": render(checkpoints), "stability.csv": render(stability),
                "heads.csv": render(heads), "scale.csv": render(scale)]
    }

    static func cell(_ value: Int?) -> String { value.map(String.init) ?? "" }
    static func cell(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return "\(value)"
    }

    /// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled.
    static func render(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { field in
                field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                    ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
            }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }
}
