import Foundation
@testable import Results

/// A fresh folder under the system temp folder, removed by `cleanup()`.
struct TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("resultstests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

enum Sample {
    /// A complete small result: 2 layers × 4 heads, parallel graph (250 edges).
    static func full(unitID: String = "unit-0001") -> UnitResult {
        var result = UnitResultBenchmark.syntheticResult(layers: 2, heads: 4, circuitSizes: [10, 25, 50], seed: 7)
        result.identity.unitID = unitID
        result.minimalCircuit?.mask = result.circuits[1].mask
        result.minimalCircuit?.edgeCount = 25
        return result
    }

    /// A heads-only unit: identity and head scores, nothing else.
    static func headsOnly() -> UnitResult {
        UnitResult(
            identity: UnitIdentity(unitID: "heads-1", model: "EleutherAI/pythia-70m", revision: "step512", task: "heads"),
            provenance: Provenance(softwareVersion: "0.1.0", host: "test-host"),
            method: AttributionMethod(name: "noop"),
            headScores: ["induction": HeadScores(layers: 6, heads: 8, values: (0..<48).map { Float($0) / 48 })])
    }
}

/// A python3 that can `import h5py`, or nil.
enum PythonH5py {
    static let interpreter: String? = {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] + pathCandidates() {
            guard FileManager.default.isExecutableFile(atPath: candidate) else { continue }
            if (try? run(candidate, ["-c", "import h5py, numpy"]).status) == 0 { return candidate }
        }
        return nil
    }()

    private static func pathCandidates() -> [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
    }

    /// Runs a process to completion; returns its exit status and combined output.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
