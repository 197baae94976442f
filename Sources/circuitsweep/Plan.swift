import ArgumentParser
import Coordinator
import Foundation
import Sweep

/// `circuitsweep plan SWEEP.yaml [--explain]`: what a coordinator would run, and why.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the units of a sweep and which will run (reads the journal read-only).")

    @Argument(help: "The sweep file (YAML, schemas/sweep.schema.json).")
    var sweep: String

    @Flag(help: "List every unit with the reason it will or will not run.")
    var explain = false

    func run() throws {
        let (spec, results) = try SweepFile.load(sweep)
        let plan = try SweepFile.preview(
            spec, results: results,
            datasets: TaskDatasets.provider(for: spec, sweepDirectory: URL(fileURLWithPath: sweep).deletingLastPathComponent()))
        var byReason: [String: Int] = [:]
        for unit in plan {
            byReason[String("\(unit.reason)".prefix { $0 != ":" && $0 != "(" }).trimmingCharacters(in: .whitespaces), default: 0] += 1
        }
        print("sweep: \(spec.models.count) models × revisions × \(spec.tasks.count) tasks × \(spec.analyses.count) analyses = \(plan.count) units")
        print("results: \(results.path)")
        print("will run: \(plan.filter(\.willRun).count)")
        for (reason, count) in byReason.sorted(by: { $0.key < $1.key }) {
            print("  \(reason): \(count)")
        }
        if explain {
            print("priority  unit                              model  revision  task  analysis  reason")
            for u in plan {
                print("\(u.priority)  \(u.id)  \(u.key.model)  \(u.key.revision)  \(u.key.task.name)  \(u.key.analysis.name)  \(u.willRun ? "run" : "skip"): \(u.reason)")
            }
        }
    }
}
