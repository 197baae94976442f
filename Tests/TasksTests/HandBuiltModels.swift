import Circuits
import Foundation
import NeoX
@testable import Tasks
import Tensor

/// Small GPT-NeoX models whose weights are set by hand so that one head has a known function.
enum HandBuiltModels {
    /// All-zero weights (LayerNorm gains 1) for `config`.
    static func zeros(_ config: NeoXConfig) -> NeoXWeights {
        let d = config.hiddenSize, f = config.intermediateSize, v = config.vocabSize
        let layer = NeoXLayerWeights(
            inputLayerNormWeight: Tensor(repeating: 1, shape: [d]), inputLayerNormBias: Tensor(zeros: [d]),
            postAttentionLayerNormWeight: Tensor(repeating: 1, shape: [d]), postAttentionLayerNormBias: Tensor(zeros: [d]),
            qkvWeight: Tensor(zeros: [3 * d, d]), qkvBias: Tensor(zeros: [3 * d]),
            denseWeight: Tensor(zeros: [d, d]), denseBias: Tensor(zeros: [d]),
            mlpInWeight: Tensor(zeros: [f, d]), mlpInBias: Tensor(zeros: [f]),
            mlpOutWeight: Tensor(zeros: [d, f]), mlpOutBias: Tensor(zeros: [d]))
        return NeoXWeights(
            embedIn: Tensor(zeros: [v, d]), layers: Array(repeating: layer, count: config.numLayers),
            finalLayerNormWeight: Tensor(repeating: 1, shape: [d]), finalLayerNormBias: Tensor(zeros: [d]),
            embedOut: Tensor(zeros: [v, d]))
    }

    /// Row of the fused QKV matrix for (head, kind 0/1/2 = q/k/v, channel), head-major (§1.4).
    static func qkvRow(_ config: NeoXConfig, head: Int, kind: Int, channel: Int) -> Int {
        head * 3 * config.headDim + kind * config.headDim + channel
    }

    /// Two layers, two heads of 128 dims (32 rotary), vocabulary 64 with one-hot embeddings in
    /// dims 0..<64.
    /// - Head 0.0 is a previous-token head: constant q and k (biases only) in the rotary dims, set so
    ///   that q·k = a²·Σᵢ cos((m−n−1)θᵢ), largest at m − n = 1; its OV copies the token (dims 0..<64)
    ///   into dims 64..<128.
    /// - Head 1.0 is an induction head: its query reads the current token (dims 0..<64) and its key
    ///   the previous token written by 0.0 (dims 64..<128), in non-rotary dims.
    /// - Heads 0.1 and 1.1 and both MLPs are zero (uniform causal attention).
    static func inductionModel() -> (NeoXConfig, NeoXWeights) {
        let config = NeoXConfig(vocabSize: 64, hiddenSize: 256, numLayers: 2, numHeads: 2, intermediateSize: 16,
                                rotaryPct: 0.25, rotaryBase: 10000, maxPositionEmbeddings: 256)
        var w = zeros(config)
        for t in 0..<64 { w.embedIn[t, t] = 1; w.embedOut[t, t] = 1 }
        let rotary = config.rotaryDims, half = rotary / 2
        // Layer 0, head 0: previous-token attention from biases.
        let amplitude = Float((30 * Double(config.headDim).squareRoot()).squareRoot())
        for i in 0..<half {
            let theta = 1 / pow(Float(config.rotaryBase), Float(2 * i) / Float(rotary))
            w.layers[0].qkvBias[qkvRow(config, head: 0, kind: 0, channel: i)] = amplitude * cos(theta)
            w.layers[0].qkvBias[qkvRow(config, head: 0, kind: 0, channel: i + half)] = -amplitude * sin(theta)
            w.layers[0].qkvBias[qkvRow(config, head: 0, kind: 1, channel: i)] = amplitude
        }
        for c in 0..<64 {
            w.layers[0].qkvWeight[qkvRow(config, head: 0, kind: 2, channel: c), c] = 1
            w.layers[0].denseWeight[64 + c, c] = 1   // head 0 occupies dense columns 0..<128
        }
        // Layer 1, head 0: match current token against the previous token, in non-rotary dims.
        for c in 0..<64 {
            w.layers[1].qkvWeight[qkvRow(config, head: 0, kind: 0, channel: rotary + c), c] = 14
            w.layers[1].qkvWeight[qkvRow(config, head: 0, kind: 1, channel: rotary + c), 64 + c] = 1
        }
        return (config, w)
    }

    /// Two layers, two heads of 8 dims, vocabulary 64: tokens 0..<8 are one-hot in dims 0..<8 (the
    /// "names"); other tokens are random. W_U = W_E. Layer 0 is zero, so the residual after block 0
    /// is the embedding. Head 1.0's OV is the identity on dims 0..<8 (a copying head); head 1.1's
    /// OV is random.
    static func copyModel(seed: UInt64) -> (NeoXConfig, NeoXWeights) {
        let config = NeoXConfig(vocabSize: 64, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 8,
                                rotaryPct: 0.25, maxPositionEmbeddings: 64)
        var w = zeros(config)
        var random = TestRandom(seed: seed)
        for t in 0..<64 {
            for c in 0..<16 { w.embedIn[t, c] = t < 8 ? (c == t ? 1 : 0) : random.normal() * 0.25 }
        }
        w.embedOut = w.embedIn
        for c in 0..<8 {
            w.layers[1].qkvWeight[qkvRow(config, head: 0, kind: 2, channel: c), c] = 1
            w.layers[1].denseWeight[c, c] = 1
        }
        for c in 0..<8 {
            for i in 0..<16 { w.layers[1].qkvWeight[qkvRow(config, head: 1, kind: 2, channel: c), i] = random.normal() * 0.3 }
            for o in 0..<16 { w.layers[1].denseWeight[o, 8 + c] = random.normal() * 0.3 }
        }
        return (config, w)
    }

    /// One layer, two heads of 8 dims, vocabulary 8 one-hot; MLP0 ≈ identity on one-hot
    /// inputs (gelu(x + 10) − 10 ≈ x); head 0.0's OV maps token t to t + 1 (mod 8): a successor head.
    static func successorModel() -> (NeoXConfig, NeoXWeights) {
        let config = NeoXConfig(vocabSize: 8, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 16,
                                rotaryPct: 0.25, maxPositionEmbeddings: 64)
        var w = zeros(config)
        for t in 0..<8 { w.embedIn[t, t] = 1; w.embedOut[t, t] = 1 }
        for c in 0..<16 {
            w.layers[0].mlpInWeight[c, c] = 1
            w.layers[0].mlpInBias[c] = 10
            w.layers[0].mlpOutWeight[c, c] = 1
            w.layers[0].mlpOutBias[c] = -10
        }
        for c in 0..<8 {
            w.layers[0].qkvWeight[qkvRow(config, head: 0, kind: 2, channel: c), c] = 1
            w.layers[0].denseWeight[(c + 1) % 8, c] = 1
        }
        return (config, w)
    }

    /// Two different names (tokens 0..<8) for the IOI-like hand-built models.
    static func twoNames(_ random: inout SeededRandom) -> (first: Int, second: Int) {
        let first = random.nextInt(below: 8)
        var second = random.nextInt(below: 7)
        if second >= first { second += 1 }
        return (first, second)
    }

    /// Token layout shared by the IOI-like hand-built models: names 0..<8 are one-hot in dims
    /// 0..<8, fillers 8..<24 one-hot in dims 16..<32; head 0.0 attends uniformly (zero QK) and
    /// writes the mean of the LayerNormed name dims into dims 8..<16: a "bag of names" so far, in
    /// which a repeated name stands out.
    static func namesAndBag(_ config: NeoXConfig) -> NeoXWeights {
        var w = zeros(config)
        for t in 0..<8 { w.embedIn[t, t] = 1 }
        for t in 8..<24 { w.embedIn[t, 16 + t - 8] = 1 }
        for c in 0..<8 {
            w.layers[0].qkvWeight[qkvRow(config, head: 0, kind: 2, channel: c), c] = 1
            w.layers[0].denseWeight[8 + c, c] = 0.2
        }
        return w
    }

    /// A copy-suppression head (1.0) and its positive twin (1.1), two layers, two heads of 16 dims,
    /// vocabulary 24 (`namesAndBag`). The unembedding of name t reads the bag dim 8 + t, so the
    /// residual predicts the names seen so far, the most frequent first.
    /// - 1.0 attends from the bag (query, dims 8..<16) to the name it holds (key, dims 0..<8): to
    ///   the earlier names that are predicted; its OV writes −(name) into that name's unembedding
    ///   direction (dims 8..<16): copy suppression.
    /// - 1.1 has the same attention and the opposite OV sign: a copying head.
    /// - 0.1 is random (scale 0.03); the MLPs are zero.
    static func copySuppressionModel(seed: UInt64) -> (NeoXConfig, NeoXWeights) {
        let config = NeoXConfig(vocabSize: 24, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 8,
                                rotaryPct: 0.25, maxPositionEmbeddings: 64)
        var w = namesAndBag(config)
        for t in 0..<8 { w.embedOut[t, 8 + t] = 1 }
        var random = TestRandom(seed: seed)
        for c in 0..<16 {
            for i in 0..<32 { w.layers[0].qkvWeight[qkvRow(config, head: 1, kind: 2, channel: c), i] = random.normal() * 0.03 }
            for o in 0..<32 { w.layers[0].denseWeight[o, 16 + c] = random.normal() * 0.03 }
        }
        for (head, sign) in [(0, Float(-1)), (1, Float(1))] {
            for c in 0..<8 {
                w.layers[1].qkvWeight[qkvRow(config, head: head, kind: 0, channel: 4 + c), 8 + c] = 5
                w.layers[1].qkvWeight[qkvRow(config, head: head, kind: 1, channel: 4 + c), c] = 1
                w.layers[1].qkvWeight[qkvRow(config, head: head, kind: 2, channel: c), c] = 1
                w.layers[1].denseWeight[8 + c, head * 16 + c] = sign * 0.5
            }
        }
        return (config, w)
    }

    /// An IOI circuit in miniature, two layers, two heads of 24 dims, vocabulary 24
    /// (`namesAndBag`, plus dim 32 = 1 on names). The unembedding of name t reads dim t.
    /// - 0.0 is the S-inhibition head: at the end of "IO S … S … END" its bag holds S twice and IO
    ///   once (the subject-duplicate signal).
    /// - 1.0 is the name mover: its query reads the bag negatively and a constant, its key the name
    ///   and the name flag, so it attends to the name that is *not* duplicated; its OV copies that
    ///   name into its unembedding direction.
    /// - 0.1 moves the names too (uniform attention) but into dims 40..<48, which nothing reads;
    ///   1.1 and the MLPs are zero.
    static func sInhibitionModel() -> (NeoXConfig, NeoXWeights) {
        let config = NeoXConfig(vocabSize: 24, hiddenSize: 48, numLayers: 2, numHeads: 2, intermediateSize: 8,
                                rotaryPct: 0.25, maxPositionEmbeddings: 64)
        var w = namesAndBag(config)
        for t in 0..<8 { w.embedIn[t, 32] = 1; w.embedOut[t, t] = 1 }
        for c in 0..<8 {
            w.layers[0].qkvWeight[qkvRow(config, head: 1, kind: 2, channel: c), c] = 1
            w.layers[0].denseWeight[40 + c, 24 + c] = 0.2
        }
        for c in 0..<8 {
            w.layers[1].qkvWeight[qkvRow(config, head: 0, kind: 0, channel: 8 + c), 8 + c] = -4
            w.layers[1].qkvWeight[qkvRow(config, head: 0, kind: 1, channel: 8 + c), c] = 1
            w.layers[1].qkvWeight[qkvRow(config, head: 0, kind: 2, channel: c), c] = 1
            w.layers[1].denseWeight[c, c] = 1
        }
        w.layers[1].qkvBias[qkvRow(config, head: 0, kind: 0, channel: 16)] = 10
        w.layers[1].qkvWeight[qkvRow(config, head: 0, kind: 1, channel: 16), 32] = 1
        return (config, w)
    }
}

extension HandBuiltModels {
    /// Tokens of `positionalSInhibitionModel`: names 0..<8, fillers 8..<16, slot markers, END.
    static let marker1 = 16, marker2 = 17, endToken = 18

    /// "M1 n1 M2 n2 f S f END" prompts (ABB: n1 = IO; BAB: n1 = S) with the ABB->ABA flip as
    /// corruption; IO at position 1 or 3, S1 at the other, S2 at 5, END at 7.
    static func markedIOI(count: Int, seed: UInt64) -> [TaskExample] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { i in
            let (io, s) = twoNames(&random)
            let f = (0..<2).map { _ in random.nextInt(in: 8..<16) }
            let (n1, n2) = i % 2 == 0 ? (io, s) : (s, io)
            let clean = [marker1, n1, marker2, n2, f[0], s, f[1], endToken]
            var corrupted = clean
            corrupted[5] = io
            return TaskExample(clean: clean, corrupted: corrupted, correct: [io], incorrect: [s])
        }
    }

    /// An IOI circuit whose S-inhibition signal is the *position* of S1, as the paper's S2I
    /// criterion expects. Three layers, two heads of 24 dims (12 rotary), vocabulary 24. Residual
    /// dims: names one-hot 0..<8 with a name flag in 19, fillers 8..<16, M1 16, M2 17, END 18;
    /// dim 23 stays 0 and is the LayerNorm reference ("LN[c] − LN[23]" reads dim c alone).
    /// - 0.0, previous-token head (rotary biases): writes the preceding marker into a slot sign
    ///   (dim 20: +1 after M1, −1 after M2) and a has-slot flag (dim 21).
    /// - 0.1, two-back head (rotary biases): copies the name two positions back into dims 24..<32;
    ///   at END that is S2's name.
    /// - 1.0, the S-inhibition head: at END its query is S2's name (and a has-slot bonus), so it
    ///   attends to S1; it writes S1's slot sign into dim 32.
    /// - 2.0, the name mover: attends to the slotted names, away from the slot sign in dim 32,
    ///   i.e. to IO, and copies the name into its unembedding direction (dims 0..<8).
    /// - 1.1, 2.1 and the MLPs are zero.
    static func positionalSInhibitionModel() -> (NeoXConfig, NeoXWeights) {
        let config = NeoXConfig(vocabSize: 24, hiddenSize: 48, numLayers: 3, numHeads: 2, intermediateSize: 8,
                                rotaryPct: 0.5, rotaryBase: 10000, maxPositionEmbeddings: 64)
        var w = zeros(config)
        for t in 0..<8 { w.embedIn[t, t] = 1; w.embedIn[t, 19] = 1; w.embedOut[t, t] = 1 }
        for t in 8..<16 { w.embedIn[t, t] = 1 }
        for t in [marker1, marker2, endToken] { w.embedIn[t, t] = 1 }
        let rotary = config.rotaryDims, half = rotary / 2, zero = 23
        func row(_ head: Int, _ kind: Int, _ channel: Int) -> Int { qkvRow(config, head: head, kind: kind, channel: channel) }
        // Layer 0: relative-position heads from biases, q·k ∝ Σᵢ cos((m − n − offset)θᵢ).
        let amplitude = Float((30 * Double(config.headDim).squareRoot()).squareRoot())
        for (head, offset) in [(0, Float(1)), (1, Float(2))] {
            for i in 0..<half {
                let theta = 1 / pow(Float(config.rotaryBase), Float(2 * i) / Float(rotary))
                w.layers[0].qkvBias[row(head, 0, i)] = amplitude * cos(offset * theta)
                w.layers[0].qkvBias[row(head, 0, i + half)] = -amplitude * sin(offset * theta)
                w.layers[0].qkvBias[row(head, 1, i)] = amplitude
            }
        }
        w.layers[0].qkvWeight[row(0, 2, 0), marker1] = 1
        w.layers[0].qkvWeight[row(0, 2, 0), marker2] = -1
        w.layers[0].qkvWeight[row(0, 2, 1), marker1] = 1
        w.layers[0].qkvWeight[row(0, 2, 1), marker2] = 1
        w.layers[0].qkvWeight[row(0, 2, 1), zero] = -2
        w.layers[0].denseWeight[20, 0] = 0.15
        w.layers[0].denseWeight[21, 1] = 0.15
        for c in 0..<8 {
            w.layers[0].qkvWeight[row(1, 2, c), c] = 1
            w.layers[0].qkvWeight[row(1, 2, c), zero] = -1
            w.layers[0].denseWeight[24 + c, 24 + c] = 0.2
        }
        // Layer 1, head 0: S-inhibition.
        for c in 0..<8 {
            w.layers[1].qkvWeight[row(0, 0, 12 + c), 24 + c] = 4
            w.layers[1].qkvWeight[row(0, 0, 12 + c), zero] = -4
            w.layers[1].qkvWeight[row(0, 1, 12 + c), c] = 1
            w.layers[1].qkvWeight[row(0, 1, 12 + c), zero] = -1
        }
        w.layers[1].qkvBias[row(0, 0, 20)] = 23
        w.layers[1].qkvWeight[row(0, 1, 20), 21] = 1
        w.layers[1].qkvWeight[row(0, 1, 20), zero] = -1
        w.layers[1].qkvWeight[row(0, 2, 0), 20] = 1
        w.layers[1].qkvWeight[row(0, 2, 0), zero] = -1
        w.layers[1].denseWeight[32, 0] = 0.25
        // Layer 2, head 0: the name mover.
        w.layers[2].qkvBias[row(0, 0, 12)] = 20
        w.layers[2].qkvWeight[row(0, 1, 12), 19] = 1
        w.layers[2].qkvWeight[row(0, 1, 12), 21] = 1
        w.layers[2].qkvWeight[row(0, 1, 12), zero] = -2
        w.layers[2].qkvWeight[row(0, 0, 13), 32] = -3
        w.layers[2].qkvWeight[row(0, 0, 13), zero] = 3
        w.layers[2].qkvWeight[row(0, 1, 13), 20] = 1
        w.layers[2].qkvWeight[row(0, 1, 13), zero] = -1
        for c in 0..<8 {
            w.layers[2].qkvWeight[row(0, 2, c), c] = 1
            w.layers[2].qkvWeight[row(0, 2, c), zero] = -1
            w.layers[2].denseWeight[c, c] = 1
        }
        return (config, w)
    }
}

/// A tiny deterministic normal generator for test weights.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func uniform() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (Double(state >> 11) + 0.5) / Double(1 << 53)
    }
    mutating func normal() -> Float {
        Float((-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()))
    }
}
