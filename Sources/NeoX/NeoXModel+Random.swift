import Foundation
import Tensor

/// Pythia architectures (spec/eap-ig.md §1.1 table), for benchmarks and random-weight tests.
public enum PythiaShape: String, Sendable, CaseIterable {
    case pythia70m = "pythia-70m"
    case pythia160m = "pythia-160m"
    case pythia410m = "pythia-410m"
    case pythia1b = "pythia-1b"
    case pythia1_4b = "pythia-1.4b"
    case pythia2_8b = "pythia-2.8b"

    public var config: NeoXConfig {
        let (layers, d, heads): (Int, Int, Int) = switch self {
        case .pythia70m: (6, 512, 8)
        case .pythia160m: (12, 768, 12)
        case .pythia410m: (24, 1024, 16)
        case .pythia1b: (16, 2048, 8)
        case .pythia1_4b: (24, 2048, 16)
        case .pythia2_8b: (32, 2560, 32)
        }
        return NeoXConfig(vocabSize: 50304, hiddenSize: d, numLayers: layers, numHeads: heads,
                          intermediateSize: 4 * d, maxPositionEmbeddings: 2048)
    }
}

extension NeoXWeights {
    /// Random weights for `config` (deterministic in `seed`): matrices and embeddings uniform with
    /// standard deviation `scale`, LN gains 1 + 0.1·u, biases 0.1·scale·u. For shape tests,
    /// gradient checks and benchmarks; never for results.
    public static func random(config: NeoXConfig, seed: UInt64 = 1, scale: Float = 0.02) -> NeoXWeights {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func tensor(_ shape: [Int], center: Float, spread: Float) -> Tensor {
            var t = Tensor(zeros: shape)
            // Uniform(−√3, √3)·spread has standard deviation `spread`.
            let k = spread * 3.4641016 / Float(1 << 24)
            t.storage.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count {
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    p[i] = center + (Float(state >> 40) - Float(1 << 23)) * k
                }
            }
            return t
        }
        let d = config.hiddenSize, f = config.intermediateSize, v = config.vocabSize
        let layers = (0..<config.numLayers).map { _ in
            NeoXLayerWeights(
                inputLayerNormWeight: tensor([d], center: 1, spread: 0.1),
                inputLayerNormBias: tensor([d], center: 0, spread: 0.1 * scale),
                postAttentionLayerNormWeight: tensor([d], center: 1, spread: 0.1),
                postAttentionLayerNormBias: tensor([d], center: 0, spread: 0.1 * scale),
                qkvWeight: tensor([3 * d, d], center: 0, spread: scale),
                qkvBias: tensor([3 * d], center: 0, spread: 0.1 * scale),
                denseWeight: tensor([d, d], center: 0, spread: scale),
                denseBias: tensor([d], center: 0, spread: 0.1 * scale),
                mlpInWeight: tensor([f, d], center: 0, spread: scale),
                mlpInBias: tensor([f], center: 0, spread: 0.1 * scale),
                mlpOutWeight: tensor([d, f], center: 0, spread: scale),
                mlpOutBias: tensor([d], center: 0, spread: 0.1 * scale))
        }
        return NeoXWeights(
            embedIn: tensor([v, d], center: 0, spread: scale), layers: layers,
            finalLayerNormWeight: tensor([d], center: 1, spread: 0.1),
            finalLayerNormBias: tensor([d], center: 0, spread: 0.1 * scale),
            embedOut: tensor([v, d], center: 0, spread: scale))
    }
}

extension NeoXModel {
    /// A model of a Pythia shape with random weights (benchmarks).
    public static func random(shape: PythiaShape, seed: UInt64 = 1) -> NeoXModel {
        random(config: shape.config, seed: seed)
    }

    /// A model with random weights for any config (tests, benchmarks).
    public static func random(config: NeoXConfig, seed: UInt64 = 1, scale: Float = 0.02) -> NeoXModel {
        do {
            return try NeoXModel(config: config, consuming: .random(config: config, seed: seed, scale: scale))
        } catch {
            preconditionFailure("random weights always match their config: \(error)")
        }
    }

    /// Which positions' logits a timed forward computes.
    public enum LogitRows: String, Sendable, CaseIterable {
        /// Each sequence's last position (HF `logits_to_keep=1`): the scored positions of a task.
        case last
        /// Every position, [B, P, V] (HF's default output).
        case all
    }

    /// Timing of `forward` (body + final norm + the unembedding at `logitRows`).
    public struct ForwardTiming: Sendable {
        public let batch: Int, length: Int, repetitions: Int
        public let logitRows: LogitRows
        public let medianSeconds: Double
        /// Matmul FLOPs of one pass: 24·L·d²·T body + 4·L·d·B·P² attention + 2·d·V·R unembedding
        /// (R = B rows for `.last`, B·P for `.all`).
        public let flops: Double
        public var gflops: Double { flops / medianSeconds / 1e9 }
    }

    /// Times the forward pass on a random [batch, length] prompt batch (no padding), with the
    /// unembedding at `logitRows`, repeating for about `budgetSeconds` (at least 5 repetitions).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func timeForward(
        batch: Int, length: Int, logitRows: LogitRows = .last, budgetSeconds: Double = 2
    ) -> ForwardTiming {
        let layout = SequenceLayout(lengths: Array(repeating: length, count: batch))
        let trace = ForwardTrace(model: self, layout: layout)
        var state: UInt64 = 12345
        let tokens = (0..<(batch * length)).map { _ -> Int in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % vocabSize
        }
        let rows = logitRows == .last ? (0..<batch).map { $0 * length + length - 1 } : Array(0..<(batch * length))
        let logitBuffer = FloatBuffer(count: rows.count * vocabSize)
        func once() -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            embed(tokens, into: trace.residual(0))
            forward(trace: trace, layout: layout)
            logits(trace: trace, rows: rows, into: logitBuffer.pointer)
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        _ = once()
        var times: [Double] = []
        var spent = 0.0
        while times.count < 5 || (spent < budgetSeconds && times.count < 100) {
            let t = once()
            times.append(t)
            spent += t
        }
        times.sort()
        let L = Double(layerCount), dd = Double(d), T = Double(batch * length)
        let flops = 24 * L * dd * dd * T + 4 * L * dd * Double(batch * length * length)
            + 2 * dd * Double(vocabSize * rows.count)
        return ForwardTiming(batch: batch, length: length, repetitions: times.count, logitRows: logitRows,
                             medianSeconds: times[times.count / 2], flops: flops)
    }
}
