import Testing
import Tensor
@testable import NeoX

@Suite("NeoX backward to activations")
struct ForwardBackwardGradientTests {
    static func tinyModel(parallel: Bool) -> NeoXModel {
        let config = NeoXConfig(vocabSize: 23, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32,
                                rotaryPct: 0.5, useParallelResidual: parallel, maxPositionEmbeddings: 16)
        return NeoXModel.random(config: config, seed: parallel ? 7 : 8, scale: 0.4)
    }

    /// ℒ = Σ seed ⊙ finalNorm, evaluated in a fresh forward pass on given embeddings.
    static func loss(_ model: NeoXModel, _ layout: SequenceLayout, _ embeddings: [Float], _ seed: [Float]) -> Double {
        let trace = ForwardTrace(model: model, layout: layout)
        trace.residual(0).update(from: embeddings, count: embeddings.count)
        model.forward(trace: trace, layout: layout)
        var s: Double = 0
        for i in 0..<seed.count { s += Double(seed[i]) * Double(trace.finalNorm[i]) }
        return s
    }

    @Test("input gradient matches finite differences; receiver gradients sum to it", arguments: [true, false])
    func finiteDifferences(parallel: Bool) throws {
        let model = Self.tinyModel(parallel: parallel)
        let d = model.d
        let layout = SequenceLayout(lengths: [5, 3, 4], keyVisible: nil)
        let R = layout.rowCount
        var state: UInt64 = 99
        func rnd() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        let embeddings = (0..<(R * d)).map { _ in rnd() }
        var seed = [Float](repeating: 0, count: R * d)
        for row in [4, 7, 11, 2] { for c in 0..<d { seed[row * d + c] = rnd() } }

        let trace = ForwardTrace(model: model, layout: layout)
        trace.residual(0).update(from: embeddings, count: embeddings.count)
        model.forward(trace: trace, layout: layout)
        let ws = BackwardWorkspace(model: model, rowCapacity: R, maxSequenceLength: 5)
        let G = FloatBuffer(count: model.receiverSlotCount * R * d)
        model.backward(trace: trace, finalNormGradient: seed, workspace: ws,
                       sink: ReceiverGradientSink(gradients: G.pointer, baseRows: R))
        let analytic = Array(UnsafeBufferPointer(start: ws.inputGradient, count: R * d))

        let eps: Float = 1e-2
        var worst: Double = 0, scale: Double = 0
        for i in stride(from: 0, to: R * d, by: 5) {
            var plus = embeddings, minus = embeddings
            plus[i] += eps
            minus[i] -= eps
            let numeric = (Self.loss(model, layout, plus, seed) - Self.loss(model, layout, minus, seed)) / Double(2 * eps)
            worst = max(worst, abs(numeric - Double(analytic[i])))
            scale = max(scale, abs(numeric))
        }
        #expect(scale > 1e-3)
        #expect(worst <= 2e-3 * scale, "max FD error \(worst) vs scale \(scale)")

        // x⁰ feeds every receiver input directly: ∂ℒ/∂x⁰ = Σ_r g_r.
        var worstSum: Float = 0
        for i in 0..<(R * d) {
            var s: Float = 0
            for slot in 0..<model.receiverSlotCount { s += G.pointer[slot * R * d + i] }
            worstSum = max(worstSum, abs(s - analytic[i]))
        }
        #expect(worstSum <= 1e-4 * Float(scale))
    }

    @Test("stacked copies sum their receiver gradients")
    func stackedCopies() {
        let model = Self.tinyModel(parallel: true)
        let d = model.d
        let base = SequenceLayout(lengths: [4, 2])
        let stacked = base.repeated(3)
        let R = base.rowCount
        let embeddings = (0..<(R * d)).map { Float(($0 * 37) % 11) / 11 - 0.5 }
        let seedBase = (0..<(R * d)).map { Float(($0 * 13) % 7) / 7 - 0.5 }
        let single = FloatBuffer(count: model.receiverSlotCount * R * d)
        let triple = FloatBuffer(count: model.receiverSlotCount * R * d)
        for (layout, sink, copies) in [(base, single, 1), (stacked, triple, 3)] {
            let trace = ForwardTrace(model: model, layout: layout)
            for c in 0..<copies { (trace.residual(0) + c * R * d).update(from: embeddings, count: R * d) }
            model.forward(trace: trace, layout: layout)
            let seed = Array([[Float]](repeating: seedBase, count: copies).joined())
            let ws = BackwardWorkspace(model: model, rowCapacity: layout.rowCount, maxSequenceLength: 4)
            model.backward(trace: trace, finalNormGradient: seed, workspace: ws,
                           sink: ReceiverGradientSink(gradients: sink.pointer, baseRows: R))
        }
        for i in 0..<single.count { #expect(abs(3 * single.pointer[i] - triple.pointer[i]) <= 1e-5 * max(1, abs(triple.pointer[i]))) }
    }
}
