import ArgumentParser
import Checksum
import Circuits
import Foundation
import NeoX
import Results
import Sweep
import Tensor
import Worker

/// Attribution methods as the command line names them.
enum AttributionMethodName: String, ExpressibleByArgument, CaseIterable {
    case eap
    case eapIGInputs = "eap-ig-inputs"
    case cleanCorrupted = "clean-corrupted"
}

extension CircuitSelection: ExpressibleByArgument {}
extension FaithfulnessNormalization: ExpressibleByArgument {}

/// `circuitsweep attribute`: EAP-IG edge scores, circuits and faithfulness for one checkpoint
/// and one examples file, written as a unit result (schemas/unit-result.md).
struct Attribute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score every edge of a checkpoint's graph on a task's examples, select and evaluate circuits, write an HDF5 unit result.")

    @OptionGroup var location: ModelOptions

    @Option(help: "Examples file (schemas/examples.schema.json).")
    var examples: String

    @Option(help: "Attribution method.")
    var method: AttributionMethodName = .eapIGInputs

    @Option(help: "Integrated-gradients steps (eap-ig-inputs).")
    var steps: Int = 30

    @Option(help: "Examples per batch: trades memory for speed; scores do not depend on it unless --batch-normalized.")
    var batchSize: Int = 8

    @Flag(help: "Each batch's loss is the batch mean, as the reference library computes it (scores then depend on --batch-size).")
    var batchNormalized = false

    @Option(help: "Circuit selection: greedy (from logits, the paper's) or topn.")
    var selection: CircuitSelection = .greedy

    @Option(help: "Comma-separated circuit sizes (requested edges) to select and evaluate.", transform: Attribute.parseSizes)
    var circuitSizes: [Int] = []

    @Option(help: "Find the smallest circuit reaching this faithfulness (e.g. 0.8).")
    var faithfulness: Double?

    @Option(help: "Faithfulness that gates the minimal circuit: ratio = M(C)/M(full), normalized = (M(C)−M(∅))/(M(full)−M(∅)).")
    var normalization: FaithfulnessNormalization = .ratio

    @Option(help: "Search range for the minimal circuit as START:END:STEP (requested edges).", transform: Attribute.parseRange)
    var searchRange: SearchRange = SearchRange(start: 25, end: 1600, step: 25)

    @Option(help: "Output unit result (.h5); written atomically.")
    var out: String

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 2

    struct SearchRange { var start: Int, end: Int, step: Int }

    static func parseSizes(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                throw ValidationError("--circuit-sizes: '\($0)' is not a positive integer")
            }
            return n
        }
    }

    static func parseRange(_ text: String) throws -> SearchRange {
        let parts = text.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 3, parts[0] >= 1, parts[1] >= parts[0], parts[2] >= 1 else {
            throw ValidationError("--search-range must be START:END:STEP with 1 ≤ START ≤ END and STEP ≥ 1, got '\(text)'")
        }
        return SearchRange(start: parts[0], end: parts[1], step: parts[2])
    }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let f = faithfulness, !(f > 0 && f <= 2) { throw ValidationError("--faithfulness must be in (0, 2], got \(f)") }
        guard FileManager.default.fileExists(atPath: examples) else { throw ValidationError("--examples \(examples) does not exist") }
        let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent) else { throw ValidationError("--out: folder \(parent) does not exist") }
    }

    var settings: CircuitUnitSettings {
        let method: Circuits.AttributionMethod = switch self.method {
        case .eap: .eap
        case .eapIGInputs: .eapIGInputs(steps: steps)
        case .cleanCorrupted: .cleanCorrupted
        }
        let search = faithfulness.map {
            FaithfulnessSearchPolicy(start: searchRange.start, end: searchRange.end, step: searchRange.step,
                                     curveStep: max(searchRange.step, 2 * searchRange.step),
                                     threshold: $0, normalization: normalization)
        }
        return CircuitUnitSettings(
            attribution: AttributionOptions(method: method, batchSize: batchSize, batchNormalized: batchNormalized),
            circuits: CircuitAnalysisRequest(selection: selection, sizes: circuitSizes, search: search))
    }

    func run() throws {
        BLAS.setThreadCount(threads)
        let clock = ContinuousClock()
        let loadStart = clock.now
        let directory = try location.resolveDirectory()
        let checkpoint = try NeoXCheckpoint.load(from: directory)
        let config = checkpoint.config, contentHash = checkpoint.contentHash
        let model = try NeoXModel(checkpoint: consume checkpoint)
        let loadTime = clock.now - loadStart
        let examplesURL = URL(fileURLWithPath: examples)
        let taskExamples = try TaskExamples.load(from: examplesURL)
        try taskExamples.validate(vocabularySize: config.vocabSize,
                                  contextLength: config.maxPositionEmbeddings, file: examplesURL.path)
        let bar = TerminalProgress()
        let outcome = try CircuitUnit.run(model: model, examples: taskExamples, settings: settings) { event in
            switch event {
            case let .attribution(p):
                bar.update("attribution: batch \(p.batch + 1)/\(p.batchCount), steps \(p.stepsDone)/\(p.stepCount)")
            case .circuits(.baselines):
                bar.update("circuits: baselines", force: true)
            case let .circuits(.size(n, index, count)):
                bar.update("circuits: size \(n) (\(index + 1)/\(count))")
            case let .circuits(.search(size)):
                bar.update("faithfulness search: evaluating \(size) edges")
            }
        }
        bar.finish()
        let datasetHash = try SHA256Hex.ofFile(examplesURL).sha256
        let identity = UnitIdentity(
            unitID: "cli-" + String(datasetHash.prefix(12)), model: directory.lastPathComponent,
            revision: location.revision ?? "main", task: examplesURL.deletingPathExtension().lastPathComponent,
            parameterCount: ForwardBenchmark.parameterCount(config), checkpointSHA256: contentHash,
            trainingStep: location.revision.flatMap(PythiaRevision.step(of:)), datasetHash: datasetHash)
        var provenance = Provenance(softwareVersion: CircuitSweepVersion.string, host: ProcessInfo.processInfo.hostName)
        provenance.timings["load"] = loadTime.inSeconds
        let result = outcome.unitResult(identity: identity, provenance: provenance, settings: settings)
        let receipt = try UnitResultFile.write(result, to: URL(fileURLWithPath: out))
        print(summary(outcome, receipt: receipt))
    }

    private func summary(_ outcome: CircuitUnitOutcome, receipt: UnitResultFile.Receipt) -> String {
        let a = outcome.analysis
        var lines = [
            "edges: \(outcome.scores.graph.edgeCount)  metric: \(outcome.metric.rawValue)",
            String(format: "full model %.4f  empty circuit %.4f", a.fullMean, a.emptyMean),
        ]
        for c in a.circuits {
            lines.append(String(format: "circuit %d requested: %d edges, %d nodes, metric %.4f, ratio %.3f, normalized %.3f",
                                c.requestedSize, c.circuit.edgeCount, c.circuit.nodeCount, c.mean,
                                FaithfulnessNormalization.ratio.faithfulness(circuit: c.mean, full: a.fullMean, empty: a.emptyMean),
                                FaithfulnessNormalization.normalized.faithfulness(circuit: c.mean, full: a.fullMean, empty: a.emptyMean)))
        }
        if let search = a.search, let minimal = a.minimal {
            lines.append("minimal circuit (\(search.policy.normalization.rawValue) ≥ \(search.policy.threshold)): "
                + (search.reached ? "\(search.minimalSize) requested, \(minimal.circuit.edgeCount) edges, \(minimal.circuit.nodeCount) nodes"
                                  : "not reached up to \(search.minimalSize) edges")
                + " (\(search.curve.count) sizes evaluated)")
        }
        lines.append(String(format: "attribution %.2f s, circuits %.2f s", outcome.timings["attribution"] ?? 0, outcome.timings["circuits"] ?? 0))
        lines.append("wrote \(out) (\(receipt.byteCount) bytes, sha256 \(receipt.sha256))")
        return lines.joined(separator: "\n")
    }
}
