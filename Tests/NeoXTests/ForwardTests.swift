import Foundation
import FixtureSupport
import Testing
import Tensor
@testable import NeoX

@Suite("NeoX forward parity with the HF fixtures")
struct ForwardTests {
    static let cases: [(fixture: String, model: String)] = [
        ("neox-tiny", "neox-tiny"), ("neox-small-seq", "neox-small-seq"),
        ("neox-tiny-fp16", "neox-tiny-fp16"), ("neox-tiny-bf16", "neox-tiny-bf16"),
    ]

    @Test("logits and hidden states at real positions", arguments: [0, 1, 2, 3])
    func logitsMatchFixture(caseIndex: Int) throws {
        let (fixture, modelName) = Self.cases[caseIndex]
        let model = try NumericFixtures.model(modelName)
        let f = try NumericFixtures.safetensors("forward/\(fixture).safetensors")
        let ids = NumericFixtures.ints(try #require(f["input_ids"]))
        let mask = NumericFixtures.ints(try #require(f["attention_mask"]))
        let B = 3, P = 9, V = model.vocabSize, d = model.d
        let rows = (0..<B).map { Array(ids[($0 * P)..<($0 * P + P)]) }
        let masks = (0..<B).map { Array(mask[($0 * P)..<($0 * P + P)]) }
        let logits = try model.logits(inputIds: rows, attentionMask: masks)
        let expected = NumericFixtures.floats(try #require(f["logits"]))
        let maxLogit = expected.map(abs).max() ?? 1
        var worst: Float = 0, worstAll: Float = 0
        for b in 0..<B { for p in 0..<P { for v in 0..<V {
            let i = (b * P + p) * V + v
            let diff = abs(logits.storage[i] - expected[i])
            worstAll = max(worstAll, diff)
            if masks[b][p] == 1 { worst = max(worst, diff) }
        } } }
        #expect(worst <= 1e-4 * maxLogit, "max |Δlogit| \(worst) at real positions")
        // HF semantics at padded positions too (position ids 0..P−1, padded queries see real keys).
        #expect(worstAll <= 1e-4 * maxLogit, "max |Δlogit| \(worstAll) over all positions")

        let hidden = try model.hiddenStates(inputIds: rows, attentionMask: masks)
        for l in 0...model.layerCount {
            let e = NumericFixtures.floats(try #require(f["hidden.\(l)"]))
            let scale = e.map(abs).max() ?? 1
            var worstHidden: Float = 0
            for b in 0..<B { for p in 0..<P where masks[b][p] == 1 { for c in 0..<d {
                let i = (b * P + p) * d + c
                worstHidden = max(worstHidden, abs(hidden.residuals[l].storage[i] - e[i]))
            } } }
            #expect(worstHidden <= 1e-4 * scale, "hidden.\(l): \(worstHidden)")
        }
        let finalLN = NumericFixtures.floats(try #require(f["final_ln"]))
        var worstFinal: Float = 0
        for b in 0..<B { for p in 0..<P where masks[b][p] == 1 { for c in 0..<d {
            let i = (b * P + p) * d + c
            worstFinal = max(worstFinal, abs(hidden.finalNorm.storage[i] - finalLN[i]))
        } } }
        #expect(worstFinal <= 1e-4 * (finalLN.map(abs).max() ?? 1))
    }

    @Test("logits at chosen positions equal the full logits there")
    func logitsAtPositions() throws {
        let model = try NumericFixtures.model("neox-tiny")
        let rows = [[5, 6, 7, 8], [9, 10, 11, 0]]
        let mask = [[1, 1, 1, 1], [1, 1, 1, 0]]
        let full = try model.logits(inputIds: rows, attentionMask: mask)
        let some = try model.logits(inputIds: rows, attentionMask: mask, atPositions: [3, 2])
        let V = model.vocabSize
        for v in 0..<V {
            #expect(abs(full.storage[3 * V + v] - some.storage[v]) < 1e-6)
            #expect(abs(full.storage[(4 + 2) * V + v] - some.storage[V + v]) < 1e-6)
        }
    }

    @Test("attention patterns are causal rows summing to one; head outputs sum to attention output")
    func attentionPatterns() throws {
        let model = try NumericFixtures.model("neox-small-seq")
        let tokens = [0, 5, 17, 3, 99, 42]
        let patterns = try model.attentionPatterns(tokens: tokens)
        #expect(patterns.count == model.layerCount && patterns[0].count == model.heads)
        for layer in patterns { for p in layer {
            for i in 0..<tokens.count {
                var s: Float = 0
                for j in 0..<tokens.count { s += p[i, j]; if j > i { #expect(p[i, j] == 0) } }
                #expect(abs(s - 1) < 1e-5)
            }
        } }
        let outputs = try model.headOutputs(tokens: tokens)
        let trace = try model.run(inputIds: [tokens])
        let d = model.d
        for l in 0..<model.layerCount {
            let bias = model.layers[l].denseBias.pointer
            for r in 0..<tokens.count { for c in 0..<d {
                var s = bias[c]
                for h in 0..<model.heads { s += outputs[l][h][r, c] }
                #expect(abs(s - trace.attentionOutput(l)[r * d + c]) < 1e-4)
            } }
        }
    }

    @Test("invalid input is rejected with the sequence named")
    func validation() throws {
        let model = try NumericFixtures.model("neox-tiny")
        #expect(throws: NeoXModelError.tokenOutOfRange(sequence: 1, position: 2, id: 96, vocabSize: 96)) {
            _ = try model.logits(inputIds: [[1, 2, 3], [1, 2, 96]])
        }
        #expect(throws: NeoXModelError.sequenceTooLong(sequence: 0, length: 65, maximum: 64)) {
            _ = try model.logits(inputIds: [Array(repeating: 1, count: 65)])
        }
    }
}
