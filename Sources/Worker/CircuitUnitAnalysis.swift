import Circuits
import Foundation
import NeoX
import Results
import Sweep
import Tasks
import Tokenizer

/// The scientific analysis of a unit: EAP / EAP-IG-inputs / clean-corrupted attribution, circuit
/// selection and the minimal-faithful-circuit search, plus the requested head scores, written as
/// an HDF5 unit result (schemas/unit-result.md).
///
/// Keeps the last checkpoint loaded, so consecutive units of one checkpoint (the scheduler's
/// affinity) load it once. The unit's dataset is an examples file (schemas/examples.schema.json)
/// shipped by the coordinator.
public final class CircuitUnitAnalysis: UnitAnalysis {
    private struct Loaded {
        var directory: URL
        var config: NeoXConfig
        var contentHash: String
        /// The only copy of the weights: the checkpoint's tensors were moved into it.
        var model: NeoXModel
    }

    private var loaded: Loaded?
    /// Examples per attribution batch (memory only; scores are per-example normalised).
    public var batchSize: Int

    public init(batchSize: Int = 8) { self.batchSize = batchSize }

    public func handles(_ method: Sweep.AttributionMethod) -> Bool {
        [.eap, .eapIGInputs, .cleanCorrupted].contains(method)
    }

    public func needsCheckpoint(_ method: Sweep.AttributionMethod) -> Bool { true }

    public func releaseCheckpoint() { loaded = nil }

    /// The attribution and circuit settings an assignment asks for.
    public static func settings(for analysis: AnalysisSpec, batchSize: Int) -> CircuitUnitSettings {
        let method: Circuits.AttributionMethod = switch analysis.method {
        case .eap: .eap
        case .cleanCorrupted: .cleanCorrupted
        default: .eapIGInputs(steps: analysis.steps)
        }
        let search = analysis.circuit.map {
            FaithfulnessSearchPolicy(start: $0.start, end: $0.end, step: $0.step, curveStep: 2 * $0.step,
                                     threshold: $0.threshold, normalization: .ratio)
        }
        return CircuitUnitSettings(
            attribution: AttributionOptions(method: method, batchSize: batchSize),
            circuits: CircuitAnalysisRequest(selection: .greedy, sizes: [], search: search))
    }

    public func run(_ work: UnitWork) throws {
        let assignment = work.assignment
        guard let directory = work.checkpointDirectory else {
            throw CircuitUnitAnalysisError.noCheckpoint(unit: assignment.unit.hex)
        }
        let clock = ContinuousClock()
        let loadStart = clock.now
        let current = try load(directory)
        let loadTime = clock.now - loadStart
        if work.cancellation.isCancelled { throw UnitCancelled() }

        let source = "dataset \(assignment.datasetHash.prefix(12)) of task \(assignment.task.name)"
        let examples = try TaskExamples.decode(Data(work.dataset), file: source)
        try examples.validate(vocabularySize: current.config.vocabSize,
                              contextLength: current.config.maxPositionEmbeddings, file: source)
        let settings = Self.settings(for: assignment.analysis, batchSize: batchSize)
        let outcome = try CircuitUnit.run(model: current.model, examples: examples, settings: settings)
        if work.cancellation.isCancelled { throw UnitCancelled() }

        var provenance = Provenance(softwareVersion: work.software, host: work.host)
        provenance.timings["load"] = loadTime.inSeconds
        let step = PythiaRevision.step(of: assignment.revision.name)
        let identity = UnitIdentity(
            unitID: assignment.unit.hex, model: assignment.model.name, revision: assignment.revision.name,
            task: assignment.task.name, parameterCount: ForwardBenchmark.parameterCount(current.config),
            checkpointSHA256: current.contentHash, trainingStep: step,
            tokensSeen: step.map { $0 * PythiaRevision.tokensPerStep }, datasetHash: assignment.datasetHash)
        var result = outcome.unitResult(identity: identity, provenance: provenance, settings: settings)

        let kinds = assignment.analysis.headScores.flatMap(\.scoreKinds)
        if !kinds.isEmpty {
            let headStart = clock.now
            let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
            let tokenizer = FileManager.default.fileExists(atPath: tokenizerURL.path) ? try BPETokenizer(contentsOf: tokenizerURL) : nil
            let scorer = HeadScorer(model: current.model)
            // S2I candidates: senders into the name movers' queries in the unit's IOI circuit.
            let candidates: HeadScorer.S2ICandidates = outcome.ioiCircuitEdges(task: assignment.task.name)
                .map { .circuit(edges: $0) } ?? .allHeads
            result.store(try scorer.report(kinds, tokenizer: tokenizer, s2iCandidates: candidates))
            result.provenance.timings["heads"] = (clock.now - headStart).inSeconds
        }
        try UnitResultFile.write(result, to: work.output)
    }

    private func load(_ directory: URL) throws -> Loaded {
        if let loaded, loaded.directory == directory { return loaded }
        loaded = nil  // free the previous checkpoint before loading the next
        let checkpoint = try NeoXCheckpoint.load(from: directory)
        let config = checkpoint.config, contentHash = checkpoint.contentHash
        let model = try NeoXModel(checkpoint: consume checkpoint)
        let fresh = Loaded(directory: directory, config: config, contentHash: contentHash, model: model)
        loaded = fresh
        return fresh
    }
}

/// Why a circuit unit could not run.
public enum CircuitUnitAnalysisError: Error, CustomStringConvertible {
    case noCheckpoint(unit: String)

    public var description: String {
        switch self {
        case let .noCheckpoint(unit): "unit \(unit): no checkpoint folder was resolved for a circuit analysis"
        }
    }
}

extension HeadScore {
    /// The head-score arrays a sweep's `head_scores` entry asks for.
    var scoreKinds: [HeadScoreKind] {
        switch self {
        case .induction: [.induction, .previousToken, .duplicateToken]
        case .successor: [.successor]
        case .copy: [.copy]
        case .copySuppression: [.copySuppression, .negativeCopy]
        case .sInhibition: [.directEffect, .sInhibition]
        }
    }
}
