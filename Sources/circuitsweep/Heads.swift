import ArgumentParser
import Checksum
import Foundation
import NeoX
import Results
import Tasks
import Tokenizer
import Worker

extension HeadScoreKind: ExpressibleByArgument {}

/// `circuitsweep heads`: score every attention head of one checkpoint (induction, previous- and
/// duplicate-token, successor, copy, negative copy, copy suppression, IOI direct effect and
/// S-inhibition) and write [L, H] arrays.
struct Heads: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute head scores of a checkpoint; writes a heads-only unit result (.h5) or JSON (.json).",
        discussion: "Score definitions: schemas/head-scores.md."
    )

    @OptionGroup var location: ModelOptions

    @Option(help: "Path to tokenizer.json (needed for successor and copy scores; default: tokenizer.json in the model folder).")
    var tokenizer: String?

    @Option(parsing: .singleValue, help: "Scores, comma-separated: \(HeadScoreKind.allCases.map(\.rawValue).joined(separator: ",")). Default: all.")
    var scores: [String] = []

    @Option(help: "Seed of the repeated random token sequences.")
    var seed: UInt64 = 0

    @Option(help: "CSPA corpus: JSON Lines with a \"text\" field per document (paper: OpenWebText-10k shuffled with seed 6); default: the IOI prompts.")
    var cspaCorpus: String?

    @Flag(inversion: .prefixedNo,
          help: "With s_inhibition: the §5.5 flip checks and S2I mask (/s2i) of every head past the e′ threshold (slow: ~0.4 s per head and flip on a 70m model).")
    var s2iChecks = true

    @Option(help: "Output file: .h5 (unit result) or .json.")
    var out: String

    var kinds: [HeadScoreKind] {
        let names = scores.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        return names.isEmpty ? HeadScoreKind.allCases : names.compactMap(HeadScoreKind.init(rawValue:))
    }

    func validate() throws {
        let names = scores.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        for name in names where HeadScoreKind(rawValue: name) == nil {
            throw ValidationError("unknown score \(name.debugDescription); known: \(HeadScoreKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard out.hasSuffix(".h5") || out.hasSuffix(".json") else { throw ValidationError("--out must end in .h5 or .json") }
    }

    func run() throws {
        let directory = try location.resolveDirectory()
        let checkpoint = try NeoXCheckpoint.load(from: directory)
        let tokenizerURL = tokenizer.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("tokenizer.json")
        let bpe = FileManager.default.fileExists(atPath: tokenizerURL.path) ? try BPETokenizer(contentsOf: tokenizerURL) : nil
        var options = HeadScorer.Options()
        options.repeatedTokenSeed = seed
        if let cspaCorpus {
            guard let bpe else { throw ValidationError("--cspa-corpus needs a tokenizer (--tokenizer)") }
            options.cspaCorpus = try Self.corpus(path: cspaCorpus, tokenizer: bpe, count: options.cspaReferenceCount)
        }
        let contentHash = checkpoint.contentHash
        let scorer = HeadScorer(model: try NeoXModel(checkpoint: consume checkpoint), options: options)
        let started = Date()
        // No circuit here: every head past the e′ threshold is an S2I candidate (@candidate_source = "all_heads").
        let report = try scorer.report(kinds, tokenizer: bpe, s2iCandidates: s2iChecks ? .allHeads : .none)
        let grids = report.grids
        let seconds = Date().timeIntervalSince(started)
        let revisionName = location.revision ?? "local"
        let identityText = (["heads", contentHash, revisionName, kinds.map(\.rawValue).sorted().joined(separator: ","),
                            "seed=\(seed)", bpe?.sha256 ?? "no-tokenizer",
                            options.cspaCorpus.map { "cspa=" + SHA256Hex.of($0.description) } ?? "cspa=ioi"]
            + (s2iChecks ? [] : ["no-s2i-checks"])).joined(separator: "|")
        let unitID = SHA256Hex.of(identityText)
        if out.hasSuffix(".json") {
            let report = HeadsReport(
                model: directory.path, revision: revisionName, checkpointSHA256: contentHash, unitID: unitID,
                tokenizerSHA256: bpe?.sha256, seed: seed, seconds: seconds,
                scores: Dictionary(uniqueKeysWithValues: grids.map { ($0.key.rawValue, $0.value.rows) }),
                s2i: report.s2iChecks.map(HeadsReport.S2I.init))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            try encoder.encode(report).write(to: URL(fileURLWithPath: out), options: .atomic)
        } else {
            var result = UnitResult(
                identity: UnitIdentity(unitID: unitID, model: directory.lastPathComponent, revision: revisionName, task: "heads",
                                       checkpointSHA256: contentHash),
                provenance: Provenance(softwareVersion: CircuitSweepVersion.string, host: ProcessInfo.processInfo.hostName,
                                       timings: ["heads_seconds": seconds]),
                numerics: Numerics(dtype: "float32", flags: ["fp32_forward", "copy_score_fold_ln_emulated"]))
            result.store(report)
            let receipt = try UnitResultFile.write(result, to: URL(fileURLWithPath: out))
            print("sha256 \(receipt.sha256)")
        }
        for kind in kinds {
            guard let grid = grids[kind] else { continue }
            let top = grid.argmax
            print("\(kind.rawValue): max \(String(format: "%.4f", grid[top.layer, top.head])) at head \(top.layer).\(top.head)")
        }
        if let checks = report.s2iChecks {
            let heads = checks.s2iHeads.map { "\($0.layer).\($0.head)" }
            print("s2i (candidates: \(checks.candidateSource.rawValue)): \(heads.isEmpty ? "none" : heads.joined(separator: ", "))")
        }
    }
}

extension Heads {
    /// Documents of a JSON Lines file (`{"text": …}` per line), tokenized as the paper's CSPA corpus.
    static func corpus(path: String, tokenizer: BPETokenizer, count: Int) throws -> [[Int]] {
        struct Document: Decodable { var text: String }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var documents: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do { documents.append(try JSONDecoder().decode(Document.self, from: Data(line.utf8)).text) } catch {
                throw HeadScoreError.badInput("CSPA corpus \(path) line \(number + 1): not a JSON object with a \"text\" string (\(error))")
            }
        }
        do {
            return try CopySuppressionScores.corpus(documents: documents, encode: tokenizer.encode,
                                                    bos: tokenizer.id(ofToken: "<|endoftext|>") ?? 0, count: count)
        } catch let HeadScoreError.badInput(reason) { throw HeadScoreError.badInput("CSPA corpus \(path): \(reason)") }
    }
}

/// What `heads --out FILE.json` writes.
struct HeadsReport: Encodable {
    var model: String
    var revision: String
    var checkpointSHA256: String
    var unitID: String
    var tokenizerSHA256: String?
    var seed: UInt64
    var seconds: Double
    /// Score name → [L][H].
    var scores: [String: [[Double]]]
    /// The S-inhibition flip checks, when `s_inhibition` was computed.
    var s2i: S2I?

    /// `/s2i` of schemas/unit-result.md in JSON: per-flip arrays [F][L][H] (null where not measured).
    struct S2I: Encodable {
        var flips: [String]
        var candidateSource: String
        var candidates: [[Bool]]
        var nameMovers: [[Bool]]
        var mask: [[Bool]]
        var logitDiffChange: [[[Double?]]]
        var ioAttentionChange: [[[Double?]]]
        var s1AttentionChange: [[[Double?]]]
        var s2AttentionChange: [[[Double?]]]

        init(_ checks: S2IFlipChecks) {
            let L = checks.layers, H = checks.heads
            func grid(_ values: [Bool]) -> [[Bool]] { (0..<L).map { Array(values[($0 * H)..<(($0 + 1) * H)]) } }
            func cube(_ values: [Double]) -> [[[Double?]]] {
                checks.flips.indices.map { f in
                    (0..<L).map { l in (0..<H).map { h in values[(f * L + l) * H + h] }.map { $0.isNaN ? nil : $0 } }
                }
            }
            flips = checks.flips.map(\.rawValue)
            candidateSource = checks.candidateSource.rawValue
            candidates = grid(checks.candidates)
            nameMovers = grid(checks.nameMovers)
            mask = grid(checks.s2i)
            logitDiffChange = cube(checks.logitDiffChange)
            ioAttentionChange = cube(checks.ioAttentionChange)
            s1AttentionChange = cube(checks.s1AttentionChange)
            s2AttentionChange = cube(checks.s2AttentionChange)
        }

        enum CodingKeys: String, CodingKey {
            case flips, candidates, mask
            case candidateSource = "candidate_source"
            case nameMovers = "name_movers"
            case logitDiffChange = "logit_diff_change"
            case ioAttentionChange = "io_attention_change"
            case s1AttentionChange = "s1_attention_change"
            case s2AttentionChange = "s2_attention_change"
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, revision, seed, seconds, scores, s2i
        case checkpointSHA256 = "checkpoint_sha256"
        case unitID = "unit_id"
        case tokenizerSHA256 = "tokenizer_sha256"
    }
}
