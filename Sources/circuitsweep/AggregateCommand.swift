import Aggregate
import ArgumentParser
import Foundation
import Report

/// `circuitsweep aggregate RESULTS_DIR`: merges unit results into time series, stability
/// measures and cross-scale summaries (aggregate.h5 + CSV), and writes the HTML report.
struct AggregateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "Merge a results folder into aggregate.h5, CSV tables and an HTML report.",
        discussion: """
            Reads every unit result under RESULTS_DIR (<model>/<task>[/<analysis>]/<revision>.h5), \
            orders each model × task by training step and computes circuit size, faithfulness, \
            stability (edge and node Jaccard with their EWMA, weighted Jaccard, change rate, edit \
            distances, Jaccard to the final checkpoint), head-score summaries (best circuit head, \
            representative head, emergence) and circuit size vs model size. Files that do not read \
            are listed and left out; nothing under RESULTS_DIR is changed. Works on a half-finished \
            sweep too. Writes OUT/aggregate.h5, OUT/*.csv and OUT/report/index.html.
            """)

    @Argument(help: "The sweep's results folder.")
    var results: String

    @Option(help: "Output folder (default: 'aggregate' beside RESULTS_DIR).")
    var out: String?

    @Flag(help: "Exit non-zero when any result file was left out.")
    var strict = false

    func run() throws {
        let root = URL(fileURLWithPath: results, isDirectory: true).standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("\(root.path): no such results folder")
        }
        let output = out.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? root.deletingLastPathComponent().appendingPathComponent("aggregate", isDirectory: true)
        let bar = TerminalProgress()
        let (series, problems) = ResultsFolderReader.read(root) { done, total in
            bar.update("reading results: \(done)/\(total)")
        }
        bar.finish()
        let aggregate = SweepAggregate(series: series, problems: problems)
        try ReportWriter.write(aggregate, to: output)
        let checkpoints = series.reduce(0) { $0 + $1.records.count }
        print("\(series.count) series, \(checkpoints) checkpoints → \(output.path)/aggregate.h5, *.csv, report/index.html")
        for problem in aggregate.problems { print("left out: \(problem)") }
        if strict, !problems.isEmpty { throw ExitCode(1) }
    }
}

/// `circuitsweep report AGGREGATE.h5`: writes the HTML report of an existing aggregate file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the HTML report (and CSV tables) of an aggregate.h5.")

    @Argument(help: "An aggregate.h5 written by `circuitsweep aggregate`.")
    var aggregate: String

    @Option(help: "Output folder (default: the aggregate file's folder).")
    var out: String?

    func run() throws {
        let url = URL(fileURLWithPath: aggregate)
        let output = out.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? url.deletingLastPathComponent()
        let contents = try AggregateFile.read(url)
        try ReportWriter.write(contents, to: output, includingAggregateFile: false)
        print("report → \(output.path)/report/index.html")
    }
}

/// Writes aggregate.h5, the CSV tables and report/index.html into a folder.
enum ReportWriter {
    static func write(_ aggregate: SweepAggregate, to folder: URL, includingAggregateFile: Bool = true) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: folder.appendingPathComponent("report"), withIntermediateDirectories: true)
        if includingAggregateFile {
            try AggregateFile.write(aggregate, to: folder.appendingPathComponent("aggregate.h5"),
                                    softwareVersion: CircuitSweepVersion.string)
        }
        for (name, text) in AggregateCSV.tables(aggregate) {
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try ReportPage.html(aggregate).write(to: folder.appendingPathComponent("report/index.html"),
                                            atomically: true, encoding: .utf8)
    }
}
