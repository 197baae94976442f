import ArgumentParser
import Foundation
import Sweep

/// `circuitsweep retry RESULTS_DIR --quarantined`: put quarantined units back in the queue.
struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-queue quarantined units (their error history is kept). Takes effect when the coordinator (re)starts.")

    @Argument(help: "The results folder (holds journal.sqlite).")
    var results: String

    @Flag(help: "Re-queue every quarantined unit with its attempt count reset.")
    var quarantined = false

    func validate() throws {
        guard quarantined else { throw ValidationError("say what to retry: --quarantined") }
    }

    func run() throws {
        let path = URL(fileURLWithPath: results).appendingPathComponent("journal.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(path) does not exist: is \(results) a results folder?")
        }
        let n = try Journal(path: path).retryQuarantined(at: Date().timeIntervalSince1970)
        print("re-queued \(n) quarantined unit\(n == 1 ? "" : "s"); (re)start the coordinator to run them")
    }
}
