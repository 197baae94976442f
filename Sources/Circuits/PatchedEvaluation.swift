import NeoX
import Tensor

/// Evaluates circuits by activation patching (spec/eap-ig.md §5.3, reference `evaluate_graph`
/// with intervention `patching`): every edge outside the circuit delivers, at its receiver's
/// input, the sender's output from the corrupted run instead of the current run.
///
/// Built once per data set; `metrics(edgeMask:)` is then cheap and can be called for many
/// circuit sizes. Caches the corrupted run (residual inputs x̃ˡ, post-rotary q/k/v, z, MLP
/// outputs) and the clean run. A receiver's input is x̃_r + Σ_{u ∈ circuit(r)} (cur_u − corr_u)
/// (x̃_r already carries every corrupted sender output and the b_O of the layers upstream);
/// each head applies LN1 to its own q, k and v input. Senders with no in-circuit outgoing
/// edge are not computed; a q/k/v slot without in-circuit incoming edges reuses the corrupted
/// run's projection. The corrupted run uses the clean attention mask (no padding here: each
/// example is truncated after its metric position).
///
/// `@unchecked Sendable`: mutable scratch is used by one `metrics` call at a time (the
/// evaluator is not re-entrant; give each thread its own).
public final class PatchedEvaluator: @unchecked Sendable {
    public let model: NeoXModel
    public let graph: CircuitGraph
    public let examples: TaskExamples
    /// Per-example metric of the clean run (= every edge in the circuit).
    public let fullModelMetrics: [Float]
    /// Per-example metric of the corrupted run (= the empty circuit).
    public let emptyCircuitMetrics: [Float]

    private let layout: SequenceLayout
    private let metricRows: [Int]
    private let clean: ForwardTrace
    private let corrupted: ForwardTrace
    private let readout: MetricReadout
    // Scratch: expanded output deltas (cur − corr) per sender [senderCount, T, d], one receiver
    // input, a layer's q/k/v, z deltas, probabilities, MLP buffers, final norm.
    private let deltas: FloatBuffer
    private let receiverInput: FloatBuffer
    private let normed: FloatBuffer
    private let qkv: FloatBuffer
    private let z: FloatBuffer
    private let probabilities: FloatBuffer
    private let mlpPre: FloatBuffer, mlpAct: FloatBuffer, mlpOut: FloatBuffer
    private let finalNorm: FloatBuffer

    /// Runs and caches the clean and corrupted forwards of `examples`.
    /// - Throws: `AttributionError` naming the offending example.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public init(model: NeoXModel, examples: TaskExamples) throws(AttributionError) {
        try validate(examples, for: model)
        self.model = model
        graph = model.circuitGraph
        self.examples = examples
        let list = examples.examples
        layout = SequenceLayout(lengths: list.map(\.clean.count))
        metricRows = zip(layout.offsets, layout.lengths).map { $0 + $1 - 1 }
        let T = layout.rowCount, d = model.d
        clean = ForwardTrace(model: model, layout: layout)
        corrupted = ForwardTrace(model: model, layout: layout)
        model.embed(list.flatMap(\.clean), into: clean.residual(0))
        model.forward(trace: clean, layout: layout)
        model.embed(list.flatMap(\.corrupted), into: corrupted.residual(0))
        model.forward(trace: corrupted, layout: layout)
        readout = MetricReadout(model: model, metric: examples.metric)
        fullModelMetrics = readout.values(finalNorm: clean.finalNorm, rows: metricRows, examples: list)
        emptyCircuitMetrics = readout.values(finalNorm: corrupted.finalNorm, rows: metricRows, examples: list)
        deltas = FloatBuffer(count: graph.senderCount * T * d)
        receiverInput = FloatBuffer(count: T * d)
        normed = FloatBuffer(count: T * d)
        qkv = FloatBuffer(count: T * 3 * d)
        z = FloatBuffer(count: T * d)
        probabilities = FloatBuffer(count: layout.attentionEntries)
        mlpPre = FloatBuffer(count: T * model.mlpDim)
        mlpAct = FloatBuffer(count: T * model.mlpDim)
        mlpOut = FloatBuffer(count: T * d)
        finalNorm = FloatBuffer(count: T * d)
    }

    /// Per-example metric values of the circuit given as a mask over `graph.edges` (canonical order).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func metrics(edgeMask: [Bool]) throws(AttributionError) -> [Float] {
        let edges = graph.edges
        guard edgeMask.count == edges.count else {
            throw .graphMismatch("edge mask has \(edgeMask.count) entries, the graph has \(edges.count) edges")
        }
        var matrix = [Bool](repeating: false, count: graph.senderCount * graph.receiverCount)
        for (edge, inCircuit) in zip(edges, edgeMask) where inCircuit {
            matrix[edge.sender * graph.receiverCount + edge.receiver] = true
        }
        return metrics(inGraph: matrix)
    }

    /// Per-example metric values of the circuit given as a [senderCount × receiverCount] matrix
    /// (row-major; entries that are not edges are ignored).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func metrics(inGraph matrix: [Bool]) -> [Float] {
        let g = graph, nR = g.receiverCount, d = model.d, H = model.heads, dh = model.headDim
        precondition(matrix.count == g.senderCount * nR, "circuit matrix size")
        let T = layout.rowCount, block = T * d
        // Real in-circuit edges per receiver.
        var parents = [[Int]](repeating: [], count: nR)
        var needed = [Bool](repeating: false, count: g.senderCount)
        for r in 0..<nR {
            for u in 0..<g.upstreamSenderCount(ofReceiver: r) where matrix[u * nR + r] {
                parents[r].append(u)
                needed[u] = true
            }
        }
        // Which senders' current outputs differ from the corrupted ones (nonzero delta).
        var changed = [Bool](repeating: false, count: g.senderCount)
        let inputDelta = deltas.pointer
        if needed[0] {
            for i in 0..<block { inputDelta[i] = clean.residual(0)[i] - corrupted.residual(0)[i] }
            changed[0] = true
        }
        let x = receiverInput.pointer

        /// x ← base + Σ_{u ∈ parents, changed} delta_u; returns false when no parent changed.
        func buildInput(_ r: Int, base: UnsafePointer<Float>) -> Bool {
            let live = parents[r].filter { changed[$0] }
            guard !live.isEmpty else { return false }
            x.update(from: base, count: block)
            for u in live { Kernels.add(deltas.pointer + u * block, into: x, count: block) }
            return true
        }

        for l in 0..<model.layerCount {
            let w = model.layers[l]
            let residual = corrupted.residual(l)
            // Attention heads that feed the circuit.
            let corrQKV = corrupted.qkv(l)
            for h in 0..<H {
                let sender = g.senderIndex(ofHead: h, layer: l)
                guard needed[sender] else { continue }
                var headChanged = false
                for slot in QKV.allCases {
                    let column = h * 3 * dh + slot.rawValue * dh
                    let r = g.receiverIndex(ofHead: h, layer: l, slot: slot)
                    if buildInput(r, base: residual) {
                        headChanged = true
                        Kernels.layerNorm(rows: T, width: d, input: x, inputStride: d,
                                          weight: w.inputNormWeight.pointer, bias: w.inputNormBias.pointer,
                                          eps: model.config.layerNormEps, output: normed.pointer, outputStride: d)
                        model.linear(normed.pointer, rows: T, inWidth: d, weight: w.qkvWeight.pointer + column * d,
                                     bias: w.qkvBias.pointer + column, outWidth: dh,
                                     output: qkv.pointer + column, outputStride: 3 * d)
                        if slot != .v { model.applyRotary(headBlock: qkv.pointer + column, stride: 3 * d, layout: layout) }
                    } else {
                        for row in 0..<T {
                            (qkv.pointer + row * 3 * d + column).update(from: corrQKV + row * 3 * d + column, count: dh)
                        }
                    }
                }
                changed[sender] = headChanged
                guard headChanged else { continue }
                model.attend(head: h, qkv: qkv.pointer, layout: layout, probabilities: probabilities.pointer,
                             probabilityStride: 1, z: z.pointer)
                // Δz_h = z_h − z̃_h, then delta = Δz_h·W_O,h.
                let corrZ = corrupted.z(l)
                for row in 0..<T {
                    let zr = z.pointer + row * d + h * dh, cr = corrZ + row * d + h * dh
                    for c in 0..<dh { zr[c] -= cr[c] }
                }
                model.headResult(z: z.pointer, zStride: d, rows: T, layer: l, head: h,
                                 output: deltas.pointer + sender * block, accumulate: false)
            }
            // MLP.
            let mlpSender = g.senderIndex(ofMLP: l)
            if needed[mlpSender] {
                let r = g.receiverIndex(ofMLP: l)
                var base = residual
                if !model.config.useParallelResidual {
                    // x̃_mid = x̃ˡ + ã_l (the corrupted attention output incl. b_O).
                    let mid = finalNorm.pointer
                    let a = corrupted.attentionOutput(l)
                    for i in 0..<block { mid[i] = residual[i] + a[i] }
                    base = mid
                }
                if buildInput(r, base: base) {
                    Kernels.layerNorm(rows: T, width: d, input: x, inputStride: d,
                                      weight: w.postAttentionNormWeight.pointer, bias: w.postAttentionNormBias.pointer,
                                      eps: model.config.layerNormEps, output: normed.pointer, outputStride: d)
                    model.mlp(normalizedInput: normed.pointer, rows: T, layer: l, preActivation: mlpPre.pointer,
                              activationScratch: mlpAct.pointer, output: mlpOut.pointer)
                    let delta = deltas.pointer + mlpSender * block, corr = corrupted.mlpOutput(l)
                    for i in 0..<block { delta[i] = mlpOut.pointer[i] - corr[i] }
                    changed[mlpSender] = true
                } else {
                    changed[mlpSender] = false
                }
            }
        }
        // Logits: x̃ᴸ + in-circuit deltas, final norm at the metric rows only.
        let finalResidual = corrupted.residual(model.layerCount)
        let source: UnsafePointer<Float> = buildInput(g.logitsReceiverIndex, base: finalResidual)
            ? UnsafePointer(x) : UnsafePointer(finalResidual)
        for row in metricRows {
            Kernels.layerNorm(rows: 1, width: d, input: source + row * d, inputStride: d,
                              weight: model.finalNormWeight.pointer, bias: model.finalNormBias.pointer,
                              eps: model.config.layerNormEps, output: finalNorm.pointer + row * d, outputStride: d)
        }
        return readout.values(finalNorm: finalNorm.pointer, rows: metricRows, examples: examples.examples)
    }
}
