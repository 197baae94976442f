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
/// Examples are processed in chunks of at most `maxRowsPerChunk` tokens; each chunk keeps only
/// compact caches (about 7·L·d floats per computed token and 3·L·d per shared-prefix token), and
/// the per-evaluation scratch (senderCount·d floats per token of one chunk) is shared by all chunks.
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
    private let chunks: [PatchedChunk]

    /// Runs the clean and corrupted forwards of `examples` and caches what circuit evaluation needs.
    /// - Parameter maxRowsPerChunk: tokens per chunk; nil picks about 512 MB of scratch.
    /// - Throws: `AttributionError` naming the offending example.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public init(model: NeoXModel, examples: TaskExamples, maxRowsPerChunk: Int? = nil) throws(AttributionError) {
        try validate(examples, for: model)
        self.model = model
        graph = model.circuitGraph
        self.examples = examples
        let limit = max(1, maxRowsPerChunk ?? min(1024, (1 << 27) / max(1, graph.senderCount * model.d)))
        var ranges: [Range<Int>] = []
        var start = 0, rows = 0
        for (i, e) in examples.examples.enumerated() {
            if rows > 0 && rows + e.clean.count > limit {
                ranges.append(start..<i)
                start = i
                rows = 0
            }
            rows += e.clean.count
        }
        ranges.append(start..<examples.examples.count)
        let maxRows = ranges.map { r in r.reduce(0) { $0 + examples.examples[$1].clean.count } }.max() ?? 1
        let maxEntries = ranges.map { r in r.reduce(0) { $0 + examples.examples[$1].clean.count * examples.examples[$1].clean.count } }.max() ?? 1
        let g = graph
        let scratch = PatchedScratch(model: model, senders: g.senderCount, rows: maxRows, attentionEntries: maxEntries)
        let built = ranges.map { PatchedChunk(model: model, graph: g, examples: Array(examples.examples[$0]),
                                              metric: examples.metric, scratch: scratch) }
        chunks = built
        fullModelMetrics = built.flatMap(\.fullModelMetrics)
        emptyCircuitMetrics = built.flatMap(\.emptyCircuitMetrics)
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
        precondition(matrix.count == graph.senderCount * graph.receiverCount, "circuit matrix size")
        return chunks.flatMap { $0.metrics(inGraph: matrix) }
    }
}

/// Scratch shared by the chunks of one evaluator: expanded output deltas (cur − corr) per sender
/// [senderCount, rows, d], one receiver input, a layer's q/k/v, z, probabilities, MLP buffers,
/// final norm.
final class PatchedScratch {
    let deltas: FloatBuffer
    let receiverInput: FloatBuffer
    let normed: FloatBuffer
    let qkv: FloatBuffer
    let z: FloatBuffer
    let probabilities: FloatBuffer
    let mlpPre: FloatBuffer, mlpAct: FloatBuffer, mlpOut: FloatBuffer
    let finalNorm: FloatBuffer

    init(model: NeoXModel, senders: Int, rows: Int, attentionEntries: Int) {
        let d = model.d
        deltas = FloatBuffer(count: senders * rows * d)
        receiverInput = FloatBuffer(count: rows * d)
        normed = FloatBuffer(count: rows * d)
        qkv = FloatBuffer(count: rows * 3 * d)
        z = FloatBuffer(count: rows * d)
        probabilities = FloatBuffer(count: attentionEntries)
        mlpPre = FloatBuffer(count: rows * model.mlpDim)
        mlpAct = FloatBuffer(count: rows * model.mlpDim)
        mlpOut = FloatBuffer(count: rows * d)
        finalNorm = FloatBuffer(count: rows * d)
    }
}

/// One chunk of examples with its compact corrupted-run caches.
final class PatchedChunk {
    let model: NeoXModel
    let graph: CircuitGraph
    let examples: [TaskExample]
    let fullModelMetrics: [Float]
    let emptyCircuitMetrics: [Float]
    private let scratch: PatchedScratch

    /// Full prompts (for the corrupted run's key/value prefix).
    private let layout: SequenceLayout
    /// The computed rows: from each example's first clean/corrupted difference to its metric
    /// position. Earlier positions are identical in every patched run (all their inputs are the
    /// same in both runs), so they are read from the corrupted run as a key/value prefix.
    private let suffix: SequenceLayout
    private let metricRows: [Int]
    /// The corrupted run's post-rotary q/k/v at the shared-prefix rows, [L][prefix rows][3d].
    private let prefixQKV: FloatBuffer
    private let prefixRows: Int
    private let prefixOffsets: [Int]
    private let readout: MetricReadout
    // Corrupted-run caches gathered at the suffix rows: residual inputs [L+1], post-rotary q/k/v,
    // z, MLP outputs, attention outputs; and the input-node delta (clean − corrupted embedding).
    private let corruptedResidual: FloatBuffer
    private let corruptedQKV: FloatBuffer
    private let corruptedZ: FloatBuffer
    private let corruptedMLP: FloatBuffer
    private let corruptedAttention: FloatBuffer
    private let inputDelta: FloatBuffer
    /// Runs the clean and corrupted forwards of validated examples and keeps compact caches.
    init(model: NeoXModel, graph: CircuitGraph, examples list: [TaskExample], metric: TaskMetric, scratch: PatchedScratch) {
        self.model = model
        self.graph = graph
        self.examples = list
        self.scratch = scratch
        layout = SequenceLayout(lengths: list.map(\.clean.count))
        let prefixes = list.map { e -> Int in
            let first = e.clean.indices.first { e.clean[$0] != e.corrupted[$0] } ?? e.clean.count
            return min(first, e.clean.count - 1)
        }
        suffix = SequenceLayout(lengths: zip(layout.lengths, prefixes).map { $0 - $1 }, prefixLengths: prefixes)
        metricRows = zip(suffix.offsets, suffix.lengths).map { $0 + $1 - 1 }
        let fullMetricRows = zip(layout.offsets, layout.lengths).map { $0 + $1 - 1 }
        let T = layout.rowCount, Ts = suffix.rowCount, d = model.d, L = model.layerCount
        let clean = ForwardTrace(model: model, layout: layout)
        let corrupted = ForwardTrace(model: model, layout: layout)
        model.embed(list.flatMap(\.clean), into: clean.residual(0))
        model.forward(trace: clean, layout: layout)
        model.embed(list.flatMap(\.corrupted), into: corrupted.residual(0))
        model.forward(trace: corrupted, layout: layout)
        readout = MetricReadout(model: model, metric: metric)
        fullModelMetrics = readout.values(finalNorm: clean.finalNorm, rows: fullMetricRows, examples: list)
        emptyCircuitMetrics = readout.values(finalNorm: corrupted.finalNorm, rows: fullMetricRows, examples: list)

        let layout = layout, suffix = suffix
        func gather(_ source: UnsafePointer<Float>, width: Int, into target: UnsafeMutablePointer<Float>) {
            for b in 0..<layout.sequenceCount {
                let from = source + (layout.offsets[b] + suffix.prefixLengths[b]) * width
                (target + suffix.offsets[b] * width).update(from: from, count: suffix.lengths[b] * width)
            }
        }
        corruptedResidual = FloatBuffer(count: (L + 1) * Ts * d)
        corruptedQKV = FloatBuffer(count: L * Ts * 3 * d)
        corruptedZ = FloatBuffer(count: L * Ts * d)
        corruptedMLP = FloatBuffer(count: L * Ts * d)
        corruptedAttention = FloatBuffer(count: L * Ts * d)
        for l in 0...L { gather(corrupted.residual(l), width: d, into: corruptedResidual.pointer + l * Ts * d) }
        for l in 0..<L {
            gather(corrupted.qkv(l), width: 3 * d, into: corruptedQKV.pointer + l * Ts * 3 * d)
            gather(corrupted.z(l), width: d, into: corruptedZ.pointer + l * Ts * d)
            gather(corrupted.mlpOutput(l), width: d, into: corruptedMLP.pointer + l * Ts * d)
            gather(corrupted.attentionOutput(l), width: d, into: corruptedAttention.pointer + l * Ts * d)
        }
        let difference = FloatBuffer(count: T * d)
        for i in 0..<(T * d) { difference.pointer[i] = clean.residual(0)[i] - corrupted.residual(0)[i] }
        inputDelta = FloatBuffer(count: Ts * d)
        gather(difference.pointer, width: d, into: inputDelta.pointer)

        // Shared-prefix keys and values of the corrupted run (identical to the clean run there).
        var offsets: [Int] = [], p = 0
        for b in 0..<layout.sequenceCount { offsets.append(p); p += suffix.prefixLengths[b] }
        prefixRows = p
        prefixOffsets = offsets
        prefixQKV = FloatBuffer(count: L * max(p, 1) * 3 * d)
        for l in 0..<L {
            for b in 0..<layout.sequenceCount where suffix.prefixLengths[b] > 0 {
                (prefixQKV.pointer + (l * p + offsets[b]) * 3 * d)
                    .update(from: corrupted.qkv(l) + layout.offsets[b] * 3 * d, count: suffix.prefixLengths[b] * 3 * d)
            }
        }
    }

    /// Per-example metric values of the circuit given as a [senderCount × receiverCount] matrix
    /// (row-major; entries that are not edges are ignored).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    func metrics(inGraph matrix: [Bool]) -> [Float] {
        let g = graph, nR = g.receiverCount, d = model.d, H = model.heads, dh = model.headDim
        precondition(matrix.count == g.senderCount * nR, "circuit matrix size")
        let T = suffix.rowCount, block = T * d
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
        if needed[0] {
            scratch.deltas.pointer.update(from: inputDelta.pointer, count: block)
            changed[0] = true
        }
        let x = scratch.receiverInput.pointer

        /// x ← base + Σ_{u ∈ parents, changed} delta_u; returns false when no parent changed.
        func buildInput(_ r: Int, base: UnsafePointer<Float>) -> Bool {
            let live = parents[r].filter { changed[$0] }
            guard !live.isEmpty else { return false }
            x.update(from: base, count: block)
            for u in live { Kernels.add(scratch.deltas.pointer + u * block, into: x, count: block) }
            return true
        }

        for l in 0..<model.layerCount {
            let w = model.layers[l]
            let residual = corruptedResidual.pointer + l * block
            let corrQKV = corruptedQKV.pointer + l * 3 * block
            let corrZ = corruptedZ.pointer + l * block
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
                                          eps: model.config.layerNormEps, output: scratch.normed.pointer, outputStride: d)
                        model.linear(scratch.normed.pointer, rows: T, weight: w.qkvWeight, outputs: column..<column + dh,
                                     bias: w.qkvBias.pointer + column, output: scratch.qkv.pointer + column, outputStride: 3 * d)
                        if slot != .v { model.applyRotary(headBlock: scratch.qkv.pointer + column, stride: 3 * d, layout: suffix) }
                    } else {
                        for row in 0..<T {
                            (scratch.qkv.pointer + row * 3 * d + column).update(from: corrQKV + row * 3 * d + column, count: dh)
                        }
                    }
                }
                changed[sender] = headChanged
                guard headChanged else { continue }
                // Earlier positions' keys and values: the corrupted run's (identical in every run).
                model.attend(head: h, qkv: scratch.qkv.pointer, layout: suffix, probabilities: scratch.probabilities.pointer,
                             probabilityStride: 1, z: scratch.z.pointer,
                             prefixQKV: prefixQKV.pointer + l * prefixRows * 3 * d, prefixRowOffsets: prefixOffsets)
                // Δz_h = z_h − z̃_h, then delta = Δz_h·W_O,h.
                for row in 0..<T {
                    let zr = scratch.z.pointer + row * d + h * dh, cr = corrZ + row * d + h * dh
                    for c in 0..<dh { zr[c] -= cr[c] }
                }
                model.headResult(z: scratch.z.pointer, zStride: d, rows: T, layer: l, head: h,
                                 output: scratch.deltas.pointer + sender * block)
            }
            // MLP.
            let mlpSender = g.senderIndex(ofMLP: l)
            if needed[mlpSender] {
                let r = g.receiverIndex(ofMLP: l)
                var base = UnsafePointer(residual)
                if !model.config.useParallelResidual {
                    // x̃_mid = x̃ˡ + ã_l (the corrupted attention output incl. b_O).
                    let mid = scratch.finalNorm.pointer
                    let a = corruptedAttention.pointer + l * block
                    for i in 0..<block { mid[i] = residual[i] + a[i] }
                    base = UnsafePointer(mid)
                }
                if buildInput(r, base: base) {
                    Kernels.layerNorm(rows: T, width: d, input: x, inputStride: d,
                                      weight: w.postAttentionNormWeight.pointer, bias: w.postAttentionNormBias.pointer,
                                      eps: model.config.layerNormEps, output: scratch.normed.pointer, outputStride: d)
                    model.mlp(normalizedInput: scratch.normed.pointer, rows: T, layer: l, preActivation: scratch.mlpPre.pointer,
                              activationScratch: scratch.mlpAct.pointer, output: scratch.mlpOut.pointer)
                    let delta = scratch.deltas.pointer + mlpSender * block, corr = corruptedMLP.pointer + l * block
                    for i in 0..<block { delta[i] = scratch.mlpOut.pointer[i] - corr[i] }
                    changed[mlpSender] = true
                } else {
                    changed[mlpSender] = false
                }
            }
        }
        // Logits: x̃ᴸ + in-circuit deltas, final norm at the metric rows only.
        let finalResidual = UnsafePointer(corruptedResidual.pointer + model.layerCount * block)
        let source: UnsafePointer<Float> = buildInput(g.logitsReceiverIndex, base: finalResidual)
            ? UnsafePointer(x) : finalResidual
        for row in metricRows {
            Kernels.layerNorm(rows: 1, width: d, input: source + row * d, inputStride: d,
                              weight: model.finalNormWeight.pointer, bias: model.finalNormBias.pointer,
                              eps: model.config.layerNormEps, output: scratch.finalNorm.pointer + row * d, outputStride: d)
        }
        return readout.values(finalNorm: scratch.finalNorm.pointer, rows: metricRows, examples: examples)
    }
}
