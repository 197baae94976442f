import Foundation
@testable import NeoX
import Tensor
import Testing

/// Logits of every fixture model folder against `Fixtures/forward/*.safetensors` (real positions),
/// through the loader and `NeoXModel`; the CLI's export path end to end.
@Suite struct LoaderForwardParityTests {
    /// (model folder, expected-values file).
    static let cases: [(String, String)] = [
        ("neox-tiny", "neox-tiny"), ("neox-tiny-sharded", "neox-tiny"), ("neox-tiny-legacy", "neox-tiny"),
        ("neox-tiny-bin", "neox-tiny"), ("neox-tiny-fp16", "neox-tiny-fp16"), ("neox-tiny-bf16", "neox-tiny-bf16"),
        ("neox-small-seq", "neox-small-seq"),
    ]

    struct Expected {
        var batch: TokenBatch
        var logits: [Double]
        var logitsF64: [Double]
        var shape: [Int]
    }

    static func expected(_ name: String) throws -> Expected {
        let file = try SafetensorsFile(url: LoaderFixtures.forward(name))
        let ids = try #require(file.entry(named: "input_ids"))
        let (b, p) = (ids.shape[0], ids.shape[1])
        let flatIds = try file.integers("input_ids"), flatMask = try file.integers("attention_mask")
        let rows = { (flat: [Int]) in (0..<b).map { Array(flat[($0 * p)..<(($0 + 1) * p)]) } }
        return Expected(
            batch: TokenBatch(inputIds: rows(flatIds), attentionMask: rows(flatMask)),
            logits: try file.doubles("logits"), logitsF64: try file.doubles("logits_f64"),
            shape: try #require(file.entry(named: "logits")).shape)
    }

    /// max |ours − reference| over positions with mask 1.
    static func maxRealError(_ ours: Tensor, _ reference: [Double], mask: [[Int]]) -> Double {
        let v = ours.shape[2], p = ours.shape[1]
        var worst = 0.0
        for (b, row) in mask.enumerated() {
            for position in 0..<p where row[position] == 1 {
                let base = (b * p + position) * v
                for i in base..<(base + v) { worst = max(worst, abs(Double(ours.storage[i]) - reference[i])) }
            }
        }
        return worst
    }

    @available(*, noasync)
    @Test(arguments: cases)
    func logitsMatchFixture(folder: String, reference: String) throws {
        let expected = try Self.expected(reference)
        let (model, _) = try LogitsExport.prepareModel(directory: LoaderFixtures.model(folder))
        let logits = try model.logits(inputIds: expected.batch.inputIds, attentionMask: expected.batch.attentionMask)
        #expect(logits.shape == expected.shape)
        let maxLogit = expected.logits.reduce(0) { max($0, abs($1)) }
        let errorVsF32 = Self.maxRealError(logits, expected.logits, mask: expected.batch.attentionMask ?? [])
        let errorVsF64 = Self.maxRealError(logits, expected.logitsF64, mask: expected.batch.attentionMask ?? [])
        #expect(errorVsF32 <= 1e-4 * maxLogit, "\(folder): max error \(errorVsF32) vs fp32 reference, max|logit| \(maxLogit)")
        #expect(errorVsF64 <= 1e-4 * maxLogit, "\(folder): max error \(errorVsF64) vs fp64 reference")
        #expect(errorVsF32 <= 1e-4)
    }

    /// Sharded, legacy and bin carry the same bytes as neox-tiny, so their logits are bit-identical.
    @available(*, noasync)
    @Test func exactVariantsGiveBitIdenticalLogits() throws {
        let expected = try Self.expected("neox-tiny")
        var outputs: [Tensor] = []
        for folder in ["neox-tiny", "neox-tiny-sharded", "neox-tiny-legacy", "neox-tiny-bin"] {
            let (model, _) = try LogitsExport.prepareModel(directory: LoaderFixtures.model(folder))
            outputs.append(try model.logits(inputIds: expected.batch.inputIds, attentionMask: expected.batch.attentionMask))
        }
        #expect(outputs.allSatisfy { $0 == outputs[0] })
    }

    /// The `circuitsweep forward` path: tokens JSON in, `logits` safetensors out.
    @available(*, noasync)
    @Test func exportWritesLogitsFile() throws {
        let root = try LoaderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let expected = try Self.expected("neox-small-seq")
        let tokens = root.appendingPathComponent("tokens.json")
        let json: [String: Any] = ["input_ids": expected.batch.inputIds, "attention_mask": expected.batch.attentionMask ?? []]
        try JSONSerialization.data(withJSONObject: json).write(to: tokens)
        let out = root.appendingPathComponent("logits.safetensors")
        let summary = try LogitsExport.run(
            modelDirectory: LoaderFixtures.model("neox-small-seq"), batch: try TokenBatch(contentsOf: tokens), output: out)
        let file = try SafetensorsFile(url: out)
        #expect(file.names == ["logits"] && file.entry(named: "logits")?.type == .f32)
        let logits = try file.floatTensor("logits")
        #expect(logits.shape == expected.shape && summary.shape == expected.shape)
        #expect(Self.maxRealError(logits, expected.logits, mask: expected.batch.attentionMask ?? []) <= 1e-4)
        #expect(file.metadata["content_sha256"] == summary.contentHash && summary.contentHash.count == 64)
    }

    @Test(arguments: [
        #"{"input_ids": []}"#, #"{"input_ids": [[1, 2], [3]]}"#, #"{"input_ids": [[1, -2]]}"#,
        #"{"input_ids": [[1, 2]], "attention_mask": [[1]]}"#, #"{"input_ids": [[1, 2]], "attention_mask": [[1, 2]]}"#,
        #"{"input_ids": [[1, 2]], "attention_mask": [[0, 0]]}"#, #"{"ids": [[1]]}"#, #"not json"#,
    ])
    func badTokenFilesAreRefused(json: String) throws {
        let root = try LoaderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("tokens.json")
        try Data(json.utf8).write(to: url)
        let error = LoaderFixtures.error(TokenBatchError.self) { _ = try TokenBatch(contentsOf: url) }
        #expect(error?.file == url.path, "\(json)")
    }
}
