import Circuits
import Foundation
import NeoX
import Results
import Sweep
import Tasks
import Tensor
import Testing
import Tokenizer
@testable import Worker

/// A worker unit with `head_scores: [s-inhibition]` on an IOI task: the result file carries the
/// direct effect, the S-inhibition score and the `/s2i` flip checks, with the unit's own circuit
/// as the candidate source. The fixture checkpoints have a 257-token vocabulary and no
/// tokenizer, so the unit runs a planted circuit over the Pythia vocabulary with the fixture
/// tokenizer beside it.
@Suite struct CircuitUnitS2ITests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// A two-layer IOI circuit over the Pythia vocabulary, like the hand-built models of
    /// TasksTests: every IOI name has a zero-sum ±1 code in dims 0..<32 (flag dim 40), every other
    /// token is the same filler (dim 41); dim 95 stays 0 and is the LayerNorm reference.
    /// - 0.0 attends uniformly and writes the bag of names so far into dims 48..<80 (S twice, IO once);
    /// - 1.0 is the name mover: its query reads the bag negatively plus a name bonus, its key the
    ///   name code and flag, so it attends to IO; its OV copies the code, which the unembedding reads.
    static func plantedNameMover(names: [Int]) -> (NeoXConfig, NeoXWeights) {
        let config = NeoXConfig(vocabSize: 50304, hiddenSize: 96, numLayers: 2, numHeads: 2, intermediateSize: 8,
                                rotaryPct: 0.25, maxPositionEmbeddings: 128)
        var w = NeoXWeights.random(config: config, seed: 1, scale: 0)
        let d = config.hiddenSize, dh = config.headDim, zero = 95
        for l in 0..<2 {
            w.layers[l].inputLayerNormWeight = Tensor(repeating: 1, shape: [d])
            w.layers[l].postAttentionLayerNormWeight = Tensor(repeating: 1, shape: [d])
        }
        w.finalLayerNormWeight = Tensor(repeating: 1, shape: [d])
        for t in 0..<config.vocabSize { w.embedIn[t, 41] = 1 }
        var random = SeededRandom(seed: 5)
        for t in names {
            let signs = (0..<32).map { _ in Float(random.nextInt(below: 2) * 2 - 1) }
            let mean = signs.reduce(0, +) / 32
            let centred = signs.map { $0 - mean }
            let norm = centred.reduce(0) { $0 + $1 * $1 }.squareRoot()
            w.embedIn[t, 41] = 0
            w.embedIn[t, 40] = 1
            for c in 0..<32 {
                w.embedIn[t, c] = centred[c] / norm
                w.embedOut[t, c] = centred[c] / norm
            }
        }
        func row(_ head: Int, _ kind: Int, _ channel: Int) -> Int { head * 3 * dh + kind * dh + channel }
        for c in 0..<32 {
            // 0.0: bag of names (zero QK), value = code dims.
            w.layers[0].qkvWeight[row(0, 2, c), c] = 1
            w.layers[0].qkvWeight[row(0, 2, c), zero] = -1
            w.layers[0].denseWeight[48 + c, c] = 1
            // 1.0: query −bag, key code, value code.
            w.layers[1].qkvWeight[row(0, 0, 12 + c), 48 + c] = -4
            w.layers[1].qkvWeight[row(0, 0, 12 + c), zero] = 4
            w.layers[1].qkvWeight[row(0, 1, 12 + c), c] = 1
            w.layers[1].qkvWeight[row(0, 1, 12 + c), zero] = -1
            w.layers[1].qkvWeight[row(0, 2, c), c] = 1
            w.layers[1].qkvWeight[row(0, 2, c), zero] = -1
            w.layers[1].denseWeight[c, c] = 1
        }
        w.layers[1].qkvBias[row(0, 0, 44)] = 23
        w.layers[1].qkvWeight[row(0, 1, 44), 40] = 1
        w.layers[1].qkvWeight[row(0, 1, 44), zero] = -1
        return (config, w)
    }

    /// Writes the planted name-mover model with the Pythia tokenizer into `folder` (an HF model folder).
    static func writePlantedModel(to folder: URL) throws -> BPETokenizer {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("tokenizer/tokenizer.json"),
                                         to: folder.appendingPathComponent("tokenizer.json"))
        let tokenizer = try BPETokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        let (config, weights) = plantedNameMover(names: try TaskGenerator(tokenizer: tokenizer).ioiNameIDs())
        var writer = SafetensorsWriter()
        for (name, tensor) in weights.namedTensors() { try writer.add(name, tensor) }
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        try config.hfConfigJSON().write(to: folder.appendingPathComponent("config.json"))
        return tokenizer
    }

    @Test func headsCommandWritesFlipChecksUnlessAskedNotTo() throws {
        guard Binary.available, let binary = Binary.url else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s2iheads-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("model")
        _ = try Self.writePlantedModel(to: model)
        for checks in [true, false] {
            let out = directory.appendingPathComponent("heads-\(checks).json")
            let arguments = ["heads", "--model", model.path, "--scores", "s_inhibition", "--out", out.path]
                + (checks ? [] : ["--no-s2i-checks"])
            let run = Command.run(binary.path, arguments, timeout: 120)
            #expect(run.succeeded, "\(run)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
            #expect(json["scores"] is [String: Any])
            let s2i = json["s2i"] as? [String: Any]
            #expect((s2i != nil) == checks, "s2i in the report: \(s2i != nil), asked for: \(checks)")
            if let s2i { #expect(s2i["candidate_source"] as? String == "all_heads") }
        }
    }

    @Test func ioiUnitWritesS2IChecksFromItsCircuit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s2iunit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpointFolder = directory.appendingPathComponent("model")
        let tokenizer = try Self.writePlantedModel(to: checkpointFolder)
        let dataset = try TaskGenerator(tokenizer: tokenizer).generate(.ioi, size: 6, seed: 1)

        let analysis = AnalysisSpec(method: .eap, circuit: CircuitSearch(threshold: 0.8, start: 5, end: 30, step: 5),
                                    headScores: [.sInhibition])
        let assignment = WireMessage.Assign(
            lease: LeaseID(1), unit: try #require(UnitID(hex: String(repeating: "ab", count: 16))), attempt: 1, speculative: false,
            model: ModelSpec(name: "random", location: .folder(path: directory.path)), revision: Revision("main"),
            task: TaskSpec(name: "ioi", size: 6, seed: 1), datasetHash: try #require(dataset.datasetSHA256),
            analysis: analysis, resultPath: "random/ioi/main.h5", resultSchemaVersion: 1)
        let output = directory.appendingPathComponent("result.h5")
        let work = UnitWork(assignment: assignment, dataset: Array(try dataset.canonicalJSON()), checkpointDirectory: checkpointFolder,
                            output: output, threads: 1, software: "test", host: "localhost", cancellation: CancellationFlag())
        try CircuitUnitAnalysis().run(work)

        let result = try UnitResultFile.read(output)
        #expect(result.headScores.keys.sorted() == ["direct_effect", "s_inhibition"])
        let stored = try #require(result.s2iChecks)
        #expect(stored.layers == 2 && stored.heads == 2 && stored.flips == IOIFlip.allCases.map(\.rawValue))
        #expect(stored.candidateSource == "circuit")
        // The planted circuit: 1.0 is the only name mover, the circuit's edge into its query comes
        // from 0.0, which carries the duplicated *token* (a bag), not S1's position: the name
        // swaps move the name mover's attention, the position swap does nothing, so 0.0 is not S2I.
        #expect(stored.nameMovers == [false, false, true, false] && stored.candidates == [true, false, false, false])
        let baseline = try #require(stored.baseline)
        #expect(baseline.logitDiff > 1 && baseline.ioAttention > 0.5)
        #expect((result.headScores["s_inhibition"]?[0, 0] ?? 0) > 0.5)
        for (f, flip) in IOIFlip.allCases.enumerated() {
            let change = stored.logitDiffChange[f * 4]
            #expect(flip == .tokenSamePosOpposite ? abs(change) < 1e-3 : change < -1, "\(flip): \(change)")
        }
        #expect(stored.s2i.allSatisfy { !$0 })

        // The same checks computed directly from the stored circuit.
        let attribution = try #require(result.attribution)
        let mask = try #require(result.minimalCircuit?.mask ?? result.circuits.last?.mask)
        let edges = zip(attribution.edgeNames, mask).compactMap { $1 ? $0 : nil }
        let model = try NeoXModel(checkpoint: try NeoXCheckpoint.load(from: checkpointFolder))
        let report = try HeadScorer(model: model).report([.directEffect, .sInhibition], tokenizer: tokenizer,
                                                         s2iCandidates: .circuit(edges: edges))
        let expected = S2IChecks(try #require(report.s2iChecks))
        #expect(stored.candidates == expected.candidates && stored.nameMovers == expected.nameMovers && stored.s2i == expected.s2i)
        #expect(stored.baseline == expected.baseline)
        for (ours, theirs) in [(stored.logitDiffChange, expected.logitDiffChange), (stored.s1AttentionChange, expected.s1AttentionChange)] {
            #expect(ours.count == theirs.count && zip(ours, theirs).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        }
        #expect(result.headScores["s_inhibition"]?.values == report.grids[.sInhibition]?.values.map(Float.init))
    }

    /// Measured flip checks (fixture model, IOI-shaped token prompts) survive `store`, the file
    /// and the read: NaN exactly where a head was not measured.
    @Test func measuredChecksRoundTripThroughTheResultFile() throws {
        let checkpoint = try NeoXCheckpoint.load(from: Self.fixtures.appendingPathComponent("models/neox-tiny"), hashContent: false)
        let model = try NeoXModel(checkpoint: checkpoint)
        // "IO S f f S f END" and "S IO f f S f END", names 0..<8.
        let examples = (0..<6).map { i in
            let io = i % 8, s = (i + 3) % 8, f = 20 + i
            let first = i % 2 == 0 ? [io, s] : [s, io]
            return TaskExample(clean: first + [f, f + 1, s, f + 2, 40], corrupted: first + [f, f + 1, io, f + 2, 40],
                               correct: [io], incorrect: [s])
        }
        let L = model.layerCount, H = model.heads
        let flipped = try IOIFlip.allCases.map { ($0, try $0.flipped(examples, names: Array(0..<8), seed: 1)) }
        let movers = [PathPatcher.HeadIndex(layer: L - 1, head: 0)]
        let sInhibition = try IOIPathPatching.sInhibition(model: model, examples: examples, nameMovers: movers)
        let checks = try IOIPathPatching.flipChecks(
            model: model, examples: examples, flipped: flipped, nameMovers: movers,
            candidates: [.init(layer: 0, head: 1), .init(layer: 0, head: 2)], sInhibition: sInhibition)
        var result = UnitResult(identity: UnitIdentity(unitID: "u", model: "neox-tiny", revision: "main", task: "ioi"),
                                provenance: Provenance(softwareVersion: "test", host: "localhost"))
        result.store(HeadScorer.Report(grids: [.sInhibition: sInhibition], s2iChecks: checks))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s2istore-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("unit.h5")
        try UnitResultFile.write(result, to: url)
        let stored = try #require(try UnitResultFile.read(url).s2iChecks)
        #expect(stored.candidateSource == "circuit" && stored.flips == IOIFlip.allCases.map(\.rawValue))
        #expect(stored.candidates.indices.filter { stored.candidates[$0] } == [1, 2])
        #expect(stored.nameMovers.indices.filter { stored.nameMovers[$0] } == [(L - 1) * H])
        #expect(stored.s2i == checks.s2i)
        let baseline = try #require(checks.baseline)
        #expect(stored.baseline == S2IChecks.Baseline(logitDiff: baseline.logitDiff, ioAttention: baseline.ioAttention,
                                                      s1Attention: baseline.s1Attention, s2Attention: baseline.s2Attention))
        for (ours, theirs) in [(stored.logitDiffChange, checks.logitDiffChange), (stored.ioAttentionChange, checks.ioAttentionChange),
                               (stored.s1AttentionChange, checks.s1AttentionChange), (stored.s2AttentionChange, checks.s2AttentionChange)] {
            for (i, (a, b)) in zip(ours, theirs).enumerated() {
                let measured = stored.candidates[i % (L * H)]
                #expect(measured ? a == Float(b) && !a.isNaN : a.isNaN, "entry \(i)")
            }
        }
    }
}
