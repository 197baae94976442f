import Foundation

/// `circuitsweep bench results`: size on disk and write/read time of a unit result the size of
/// a Pythia-2.8b EAP-IG unit (1,591,857 edges), with several ~1,000-edge circuits.
///
/// The content is synthetic but shaped like the real thing: edge names in the reference
/// library's order for a parallel-residual graph, heavy-tailed float32 scores (normal ×
/// log-normal, seeded), top-|score| masks.
public enum UnitResultBenchmark {
    public struct Measurement: Sendable {
        public var edgeCount: Int
        public var circuitCount: Int
        public var byteCount: Int
        /// Fastest wall-clock write (validate, encode, fsync, SHA-256, rename) and read.
        public var writeSeconds: Double
        public var readSeconds: Double
        /// Process CPU seconds of those same runs: the cost without waiting on a busy machine.
        public var writeCPUSeconds: Double
        public var readCPUSeconds: Double
        public var sha256: String
        /// Where the file was written (removed unless kept).
        public var file: URL
    }

    /// Writes and reads back one synthetic result in `folder`, `repetitions` times, and reports
    /// the fastest write and read. The file is removed afterwards unless `keep` is set.
    @available(*, noasync, message: "blocks on disk and HDF5; run on a dedicated thread")
    public static func measure(layers: Int = 32, heads: Int = 32, circuitSizes: [Int] = [200, 400, 600, 800, 1000, 1200],
                               repetitions: Int = 3, folder: URL, keep: Bool = false) throws -> Measurement {
        let result = syntheticResult(layers: layers, heads: heads, circuitSizes: circuitSizes, seed: 2_800)
        let url = folder.appendingPathComponent("bench-results-\(getpid()).h5")
        defer { if !keep { try? FileManager.default.removeItem(at: url) } }
        var best = (write: Double.infinity, read: Double.infinity, writeCPU: Double.infinity, readCPU: Double.infinity)
        var receipt: UnitResultFile.Receipt?
        for _ in 0..<max(repetitions, 1) {
            let start = (Date(), cpuSeconds())
            receipt = try UnitResultFile.write(result, to: url)
            let written = (Date(), cpuSeconds())
            let back = try UnitResultFile.read(url)
            let read = (Date(), cpuSeconds())
            guard back.attribution?.scores.count == result.attribution?.scores.count else {
                throw UnitResultError.invalidResult(reason: "benchmark read back a different edge count")
            }
            best.write = min(best.write, written.0.timeIntervalSince(start.0))
            best.read = min(best.read, read.0.timeIntervalSince(written.0))
            best.writeCPU = min(best.writeCPU, written.1 - start.1)
            best.readCPU = min(best.readCPU, read.1 - written.1)
        }
        return Measurement(edgeCount: result.attribution?.scores.count ?? 0, circuitCount: result.circuits.count,
                           byteCount: receipt?.byteCount ?? 0, writeSeconds: best.write, readSeconds: best.read,
                           writeCPUSeconds: best.writeCPU, readCPUSeconds: best.readCPU,
                           sha256: receipt?.sha256 ?? "", file: url)
    }

    /// CPU seconds used by this process so far (`CLOCK_PROCESS_CPUTIME_ID`).
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Edge names of the EAP-IG graph of a parallel-residual model, in the reference order
    /// (spec/eap-ig.md §2.5): per layer, per upstream node, per head q, k, v, then the MLP;
    /// finally every node into `logits`. 1,591,857 names for 32 layers × 32 heads.
    public static func parallelGraphEdgeNames(layers: Int, heads: Int) -> [String] {
        var names: [String] = []
        var upstream = ["input"]
        for layer in 0..<layers {
            let receivers = (0..<heads).flatMap { head in ["q", "k", "v"].map { "a\(layer).h\(head)<\($0)>" } }
            for sender in upstream {
                let prefix = sender + "->"
                for receiver in receivers { names.append(prefix + receiver) }
                names.append(prefix + "m\(layer)")
            }
            upstream += (0..<heads).map { "a\(layer).h\($0)" } + ["m\(layer)"]
        }
        names += upstream.map { $0 + "->logits" }
        return names
    }

    /// A complete synthetic result: attribution, top-|score| circuits, faithfulness curve,
    /// minimal circuit, baseline, behaviour and seven head scores.
    public static func syntheticResult(layers: Int, heads: Int, circuitSizes: [Int], seed: UInt64) -> UnitResult {
        var random = SplitMix64(seed: seed)
        let names = parallelGraphEdgeNames(layers: layers, heads: heads)
        let scores = names.indices.map { _ in Float(random.normal() * 1e-3 * Foundation.exp(random.normal())) }
        let order = scores.indices.sorted { abs(scores[$0]) > abs(scores[$1]) }
        func topMask(_ n: Int) -> [Bool] {
            var mask = [Bool](repeating: false, count: scores.count)
            for i in order.prefix(n) { mask[i] = true }
            return mask
        }
        let circuits = circuitSizes.map { n in
            SizedCircuit(requestedEdges: n, mask: topMask(n), metric: 3.0 * Double(n) / Double(n + 200),
                         edgeCount: n, nodeCount: min(n / 4 + 2, layers * (heads + 1) + 2))
        }
        let sizes = circuitSizes
        let headNames = ["induction", "previous_token", "duplicate_token", "successor", "copy",
                         "copy_suppression", "s_inhibition"]
        var headScores: [String: HeadScores] = [:]
        for name in headNames {
            headScores[name] = HeadScores(layers: layers, heads: heads,
                                          values: (0..<(layers * heads)).map { _ in Float(random.unit()) })
        }
        let perExample = (0..<70).map { _ in 3.0 + random.normal() }
        return UnitResult(
            identity: UnitIdentity(unitID: "bench-\(layers)x\(heads)", model: "EleutherAI/pythia-2.8b",
                                   revision: "step143000", task: "ioi", parameterCount: 2_775_208_960,
                                   checkpointSHA256: String(repeating: "ab", count: 32), trainingStep: 143_000,
                                   tokensSeen: 143_000 * 2_097_152, datasetHash: String(repeating: "cd", count: 32)),
            provenance: Provenance(softwareVersion: "bench", host: "localhost",
                                   timings: ["load": 12.5, "attribute": 300.25, "search": 600.125]),
            method: AttributionMethod(name: "EAP-IG-inputs", steps: 30, batchSize: 10, batchNormalized: true,
                                      metric: "logit_diff"),
            numerics: Numerics(dtype: "float32", flags: ["exact_erf_gelu"]),
            attribution: Attribution(edgeNames: names, scores: scores,
                                     graph: GraphShape(layers: layers, heads: heads, parallelAttentionMLP: true)),
            circuits: circuits,
            faithfulness: FaithfulnessCurve(sizes: sizes, ratio: circuits.map { $0.metric / 3.0 },
                                            normalized: circuits.map { ($0.metric - 0.1) / 2.9 }),
            minimalCircuit: MinimalCircuit(mask: topMask(1000), edgeCount: 1000, nodeCount: 200,
                                           faithfulness: 0.83, threshold: 0.8, normalization: "ratio"),
            baseline: Baseline(fullMetric: 3.0, emptyMetric: 0.1),
            behaviour: Behaviour(metric: "logit_diff", mean: perExample.reduce(0, +) / Double(perExample.count),
                                 perExample: perExample, accuracy: 0.97),
            headScores: headScores)
    }
}

/// A small seeded generator (SplitMix64) so benchmark content is the same on every run.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func unit() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        (-2 * Foundation.log(unit())).squareRoot() * Foundation.cos(2 * Double.pi * unit())
    }
}
