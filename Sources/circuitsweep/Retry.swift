import ArgumentParser
import Foundation
import Sweep

/// `circuitsweep retry RESULTS_DIR --quarantined | --unit ID…`: put quarantined units back in
/// the queue, of a running coordinator too.
struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-queue quarantined units (their error history is kept).",
        discussion: """
            A running coordinator picks the units up within a second (it polls the journal); \
            otherwise they run when the coordinator is started again.
            """)

    @Argument(help: "The results folder (holds journal.sqlite).")
    var results: String

    @Flag(help: "Re-queue every quarantined unit (narrow it with --model / --task).")
    var quarantined = false

    @Option(name: .customLong("unit"), help: "A quarantined unit's id, or a prefix of at least 6 hex digits (every quarantined unit it begins); repeatable.")
    var units: [String] = []

    @Option(help: "Only units of this model.")
    var model: String?

    @Option(help: "Only units of this task.")
    var task: String?

    func validate() throws {
        guard quarantined || !units.isEmpty else {
            throw ValidationError("say what to retry: --quarantined, or --unit ID (see `circuitsweep status` for ids)")
        }
        for u in units where u.count < 6 || u.count > 32 || !u.allSatisfy({ "0123456789abcdef".contains($0) }) {
            throw ValidationError("--unit \(u): expected a unit id (32 lowercase hex digits) or a prefix of at least 6")
        }
    }

    func run() throws {
        let path = URL(fileURLWithPath: results).appendingPathComponent("journal.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(path) does not exist: is \(results) a results folder?")
        }
        let outcome = try Journal(path: path).retry(RetryFilter(units: units, model: model, task: task),
                                                    at: Date().timeIntervalSince1970)
        for (unit, state) in outcome.unmatched {
            print("--unit \(unit): \(state.map { "the unit is \($0.rawValue), not quarantined" } ?? "no such unit in this journal"); left alone")
        }
        let n = outcome.requeued.count
        print("re-queued \(n) quarantined unit\(n == 1 ? "" : "s"); a running coordinator picks them up within a second, "
              + "otherwise they run at the coordinator's next start")
        if !outcome.unmatched.isEmpty { throw ExitCode(1) }
    }
}
