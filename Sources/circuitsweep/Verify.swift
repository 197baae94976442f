import ArgumentParser
import Foundation
import Results

/// `circuitsweep verify PATH…`: checks unit-result files and reports the bad ones.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify unit-result HDF5 files (schema, shapes, dtypes, finite scores, chunk checksums).",
        discussion: """
            Folders are searched recursively for *.h5. Prints one line per bad file with the \
            reason, then a summary; exits non-zero when any file is bad or missing.
            """)

    @Argument(help: "Unit-result files or folders.")
    var paths: [String]

    @Option(name: .customLong("expect-sha256"), help: "Expected SHA-256 (hex) of the single file given.")
    var expectSHA256: String?

    @Flag(name: .shortAndLong, help: "Also print a line for every good file.")
    var verbose = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one file or folder") }
        if let expectSHA256 {
            guard expectSHA256.count == 64, expectSHA256.allSatisfy(\.isHexDigit) else {
                throw ValidationError("--expect-sha256 must be 64 hex digits")
            }
            var isFolder: ObjCBool = false
            guard paths.count == 1, FileManager.default.fileExists(atPath: paths[0], isDirectory: &isFolder),
                  !isFolder.boolValue else {
                throw ValidationError("--expect-sha256 needs exactly one existing file")
            }
        }
    }

    func run() throws {
        let (files, missing) = UnitResultVerifier.collect(paths)
        var bad = missing.count
        for outcome in missing { print("BAD \(outcome.path): \(outcome.problem ?? "")") }
        for file in files {
            let outcome = UnitResultVerifier.verify(file, expectedSHA256: expectSHA256)
            if let problem = outcome.problem {
                bad += 1
                print("BAD \(outcome.path): \(problem)")
            } else if verbose {
                print("ok  \(outcome.path)")
            }
        }
        print("verified \(files.count) file(s): \(files.count - (bad - missing.count)) ok, \(bad - missing.count) bad"
              + (missing.isEmpty ? "" : ", \(missing.count) path(s) missing"))
        if bad > 0 { throw ExitCode(1) }
    }
}
