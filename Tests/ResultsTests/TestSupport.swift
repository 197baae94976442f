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

extension Sample {
    /// `headsOnly` with S2I flip checks: 2 flips, heads 0.1 and 2.3 measured, 2.3 classified S2I,
    /// NaN where not measured.
    static func withS2IChecks() -> UnitResult {
        var result = headsOnly()
        let L = 6, H = 8, F = 2
        var candidates = [Bool](repeating: false, count: L * H), movers = candidates, s2i = candidates
        candidates[0 * H + 1] = true
        candidates[2 * H + 3] = true
        movers[4 * H + 0] = true
        s2i[2 * H + 3] = true
        func changes(_ scale: Float) -> [Float] {
            (0..<(F * L * H)).map { i in candidates[i % (L * H)] ? scale * Float(i) / 100 - 0.2 : .nan }
        }
        result.s2iChecks = S2IChecks(
            layers: L, heads: H, flips: ["token_same_pos_opposite", "token_diff_pos_same"], candidateSource: "circuit",
            candidates: candidates, nameMovers: movers, s2i: s2i, logitDiffChange: changes(-1), ioAttentionChange: changes(-0.5),
            s1AttentionChange: changes(2), s2AttentionChange: changes(0.1),
            baseline: S2IChecks.Baseline(logitDiff: 2.5, ioAttention: 0.6, s1Attention: 0.1, s2Attention: 0.05))
        return result
    }
}

/// Equal floats, NaN equal to NaN.
func sameFloats(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
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
