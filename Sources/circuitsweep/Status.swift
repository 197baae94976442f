import ArgumentParser
import Foundation
import Sweep

/// `circuitsweep status RESULTS_DIR`: progress from the journal, read-only (safe while the
/// coordinator runs).
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a sweep's progress from its journal (read-only).")

    @Argument(help: "The results folder (holds journal.sqlite).")
    var results: String

    @Option(help: "How many recent errors to list.")
    var errors = 10

    func validate() throws {
        guard errors >= 0 else { throw ValidationError("--errors must not be negative") }
    }

    func run() throws {
        let journal = try Journal(readOnlyPath: URL(fileURLWithPath: results).appendingPathComponent("journal.sqlite").path)
        let s = try journal.status(errorLimit: errors)
        let c = s.counts
        print("units: \(s.total)  done: \(c[.done] ?? 0)  pending: \(c[.pending] ?? 0)  running: \(c[.leased] ?? 0)  quarantined: \(c[.quarantined] ?? 0)  live leases: \(s.liveLeases)")
        if s.resultsInPacks > 0 {
            print("results waiting in packs for their own files: \(s.resultsInPacks) (the coordinator writes them when idle, "
                  + "before it exits, or at its next start)")
        }
        if !s.donePerModelTask.isEmpty {
            print("\nmodel  task  done/total")
            for row in s.donePerModelTask { print("\(row.model)  \(row.task)  \(row.done)/\(row.total)") }
        }
        let active = s.workers.filter { $0.state == "active" }
        print("\nworkers: \(active.count) active, \(s.workers.count - active.count) gone")
        for w in active { print("  \(w.id)  host=\(w.host)  pid=\(w.pid)  capacity=\(w.capacity)") }
        if !s.quarantined.isEmpty {
            print("\nquarantined (circuitsweep retry \(results) --quarantined puts them back):")
            for q in s.quarantined.prefix(50) {
                print("  \(q.unit)  \(q.model)@\(q.revision)  \(q.task)  \(q.analysis)  attempts=\(q.attempts)  \(q.lastError ?? "")")
            }
        }
        if !s.recentErrors.isEmpty {
            print("\nrecent errors:")
            for e in s.recentErrors { print("  \(e.unit)  \(e.model)@\(e.revision)  \(e.task)  worker=\(e.worker)  \(e.outcome): \(e.error)") }
        }
        let counters = s.counters.filter { $0.key.hasPrefix("wire.") }
        if !counters.isEmpty {
            print("\ndropped messages: " + counters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }
}
