import NeoX
import Tensor

/// Edge attribution on a GPT-NeoX model: EAP, EAP-IG-inputs and clean-corrupted
/// (spec/eap-ig.md §3, fast strategy §7).
///
/// Per batch: the clean and corrupted forwards give Δa = corrupted − clean for every sender; the
/// interpolation points α are stacked as rows (several IG steps share one GEMM per weight), each
/// stacked pass runs one backward that accumulates every receiver's gradient summed over steps
/// (G = Σ_k g^(k)); the batch's scores are then one GEMM Δa [senders, T·d] · Gᵀ [T·d, receivers].
/// Each example is truncated after its metric position (its last token), so no padding is
/// computed at all.
///
/// S(u→r) = (1/(N·|A|)) Σ_b w_b Σ_{α∈A} Σ_{p,c} Δa_u[b,p,c] · ∂(−M_b(α))/∂x_r[b,p,c], with
/// w_b = 1 (per-example default) or 1/|β| (`batchNormalized`, the reference's batch mean).
/// Positive scores mean corrupting the edge lowers the metric.
public struct EdgeAttribution: Sendable {
    public let model: NeoXModel
    public var graph: CircuitGraph { model.circuitGraph }

    public init(model: NeoXModel) { self.model = model }

    /// Scores every edge of the model's graph.
    /// - Parameters:
    ///   - examples: clean/corrupted pairs with labels; the metric is read at each clean prompt's
    ///     last token.
    ///   - progress: called after each stacked pass.
    /// - Throws: `AttributionError` naming the offending example or option.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func scores(
        examples: TaskExamples, options: AttributionOptions = AttributionOptions(),
        progress: ((AttributionProgress) -> Void)? = nil
    ) throws(AttributionError) -> EdgeScores {
        try validate(examples, for: model)
        if case let .eapIGInputs(steps) = options.method, steps < 1 {
            throw .invalidOption("EAP-IG-inputs needs at least one step, got \(steps)")
        }
        guard options.batchSize >= 1 else { throw .invalidOption("batch size must be at least 1, got \(options.batchSize)") }
        guard options.maxRowsPerPass >= 1 else { throw .invalidOption("maxRowsPerPass must be at least 1") }

        let all = examples.examples
        let N = all.count
        let batches = stride(from: 0, to: N, by: options.batchSize).map { $0..<min($0 + options.batchSize, N) }
        let alphas = options.method.alphas
        let g = graph
        let d = model.d
        let nForward = g.senderCount, nBackward = g.receiverCount

        // Buffers sized once for the largest batch.
        let maxRows = batches.map { r in all[r].reduce(0) { $0 + $1.clean.count } }.max() ?? 1
        let maxEntries = batches.map { r in all[r].reduce(0) { $0 + $1.clean.count * $1.clean.count } }.max() ?? 1
        let maxLength = all.map(\.clean.count).max() ?? 1
        let copiesPerPass = max(1, min(alphas.count, options.maxRowsPerPass / maxRows))
        let baseTrace = ForwardTrace(model: model, rowCapacity: maxRows, attentionCapacity: maxEntries)
        let corruptedTrace = ForwardTrace(model: model, rowCapacity: maxRows, attentionCapacity: maxEntries)
        let stackedTrace = ForwardTrace(model: model, rowCapacity: copiesPerPass * maxRows,
                                        attentionCapacity: copiesPerPass * maxEntries)
        let workspace = BackwardWorkspace(model: model, rowCapacity: copiesPerPass * maxRows, maxSequenceLength: maxLength)
        let seed = FloatBuffer(count: copiesPerPass * maxRows * d)
        let deltas = FloatBuffer(count: nForward * maxRows * d)
        let receiverGradients = FloatBuffer(count: nBackward * maxRows * d)
        let cleanEmbeddings = FloatBuffer(count: maxRows * d)
        let corruptedEmbeddings = FloatBuffer(count: maxRows * d)
        let scores = FloatBuffer(count: nForward * nBackward)
        let readout = MetricReadout(model: model, metric: examples.metric)

        for (batchIndex, range) in batches.enumerated() {
            let batch = Array(all[range])
            let layout = SequenceLayout(lengths: batch.map(\.clean.count))
            let T = layout.rowCount
            let metricRows = zip(layout.offsets, layout.lengths).map { $0 + $1 - 1 }
            let weight: Float = options.batchNormalized ? 1 / Float(batch.count) : 1
            let weights = [Float](repeating: weight, count: batch.count)

            // Δa from the clean and corrupted forwards (clean attention mask = no padding here).
            model.embed(batch.flatMap(\.clean), into: cleanEmbeddings.pointer)
            model.embed(batch.flatMap(\.corrupted), into: corruptedEmbeddings.pointer)
            baseTrace.residual(0).update(from: cleanEmbeddings.pointer, count: T * d)
            model.forward(trace: baseTrace, layout: layout)
            corruptedTrace.residual(0).update(from: corruptedEmbeddings.pointer, count: T * d)
            model.forward(trace: corruptedTrace, layout: layout)
            senderDeltas(clean: baseTrace, corrupted: corruptedTrace, rows: T, into: deltas.pointer)

            // Receiver gradients summed over the interpolation points, stacked `copiesPerPass` at a time.
            receiverGradients.zero(first: nBackward * T * d)
            let sink = ReceiverGradientSink(gradients: receiverGradients.pointer, baseRows: T)
            var done = 0
            while done < alphas.count {
                let chunk = Array(alphas[done..<min(done + copiesPerPass, alphas.count)])
                let stacked = layout.repeated(chunk.count)
                let input = stackedTrace.residual(0)
                for (c, alpha) in chunk.enumerated() {
                    let row = input + c * T * d
                    for i in 0..<(T * d) {
                        let corrupted = corruptedEmbeddings.pointer[i]
                        row[i] = corrupted + alpha * (cleanEmbeddings.pointer[i] - corrupted)
                    }
                }
                model.forward(trace: stackedTrace, layout: stacked)
                seed.zero(first: chunk.count * T * d)
                let stackedRows = (0..<chunk.count).flatMap { c in metricRows.map { c * T + $0 } }
                let stackedExamples = Array([[TaskExample]](repeating: batch, count: chunk.count).joined())
                let stackedWeights = Array([[Float]](repeating: weights, count: chunk.count).joined())
                readout.writeSeeds(finalNorm: stackedTrace.finalNorm, rows: stackedRows, examples: stackedExamples,
                                   weights: stackedWeights, into: seed.pointer)
                model.backward(trace: stackedTrace, finalNormGradient: seed.pointer, workspace: workspace, sink: sink)
                done += chunk.count
                progress?(AttributionProgress(batch: batchIndex, batchCount: batches.count,
                                              stepsDone: done, stepCount: alphas.count))
            }
            // S += Δa [nForward, T·d] · Gᵀ [T·d, nBackward] / (N·|A|).
            BLAS.sgemm(.none, .transposed, m: nForward, n: nBackward, k: T * d,
                       alpha: 1 / Float(N * alphas.count),
                       a: deltas.pointer, lda: T * d, b: receiverGradients.pointer, ldb: T * d,
                       beta: 1, c: scores.pointer, ldc: nBackward)
        }

        var matrix = scores.array()
        for receiver in 0..<nBackward {
            for sender in g.upstreamSenderCount(ofReceiver: receiver)..<nForward {
                matrix[sender * nBackward + receiver] = 0
            }
        }
        return EdgeScores(graph: g, matrix: matrix)
    }

    /// Δa [senderCount, rows, d] = corrupted − clean sender outputs: the input embedding, each
    /// head's z_h·W_O,h (b_O excluded; computed from Δz), each MLP output.
    func senderDeltas(clean: ForwardTrace, corrupted: ForwardTrace, rows T: Int, into out: UnsafeMutablePointer<Float>) {
        let d = model.d, H = model.heads
        let g = graph
        let block = T * d
        let dz = FloatBuffer(count: block)
        let input = out
        for i in 0..<block { input[i] = corrupted.residual(0)[i] - clean.residual(0)[i] }
        for l in 0..<model.layerCount {
            let zc = corrupted.z(l), zx = clean.z(l)
            for i in 0..<block { dz.pointer[i] = zc[i] - zx[i] }
            for h in 0..<H {
                model.headResult(z: dz.pointer, zStride: d, rows: T, layer: l, head: h,
                                 output: out + g.senderIndex(ofHead: h, layer: l) * block, accumulate: false)
            }
            let m = out + g.senderIndex(ofMLP: l) * block
            let mc = corrupted.mlpOutput(l), mx = clean.mlpOutput(l)
            for i in 0..<block { m[i] = mc[i] - mx[i] }
        }
    }
}
