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

        // Positions before an example's first clean/corrupted difference are identical for every α
        // and have Δa = 0: they are computed once (the clean run) and serve as a cached key/value
        // prefix; the stacked passes compute only the rows from the first difference to the metric
        // position (spec §7). At least the metric row is always computed.
        let prefixLengths = all.map { e -> Int in
            let first = e.clean.indices.first { e.clean[$0] != e.corrupted[$0] } ?? e.clean.count
            return options.sharePrefix ? min(first, e.clean.count - 1) : 0
        }
        func rows(_ r: Range<Int>) -> Int { r.reduce(0) { $0 + all[$1].clean.count } }
        func suffixRows(_ r: Range<Int>) -> Int { r.reduce(0) { $0 + all[$1].clean.count - prefixLengths[$1] } }
        func suffixEntries(_ r: Range<Int>) -> Int {
            r.reduce(0) { $0 + (all[$1].clean.count - prefixLengths[$1]) * all[$1].clean.count }
        }
        // Buffers sized once for the largest batch.
        let maxRows = batches.map(rows).max() ?? 1
        let maxEntries = batches.map { r in r.reduce(0) { $0 + all[$1].clean.count * all[$1].clean.count } }.max() ?? 1
        let maxSuffixRows = batches.map(suffixRows).max() ?? 1
        let maxSuffixEntries = batches.map(suffixEntries).max() ?? 1
        let maxLength = all.map(\.clean.count).max() ?? 1
        let copiesPerPass = max(1, min(alphas.count, options.maxRowsPerPass / maxSuffixRows))
        let baseTrace = ForwardTrace(model: model, rowCapacity: maxRows, attentionCapacity: maxEntries)
        let corruptedTrace = ForwardTrace(model: model, rowCapacity: maxRows, attentionCapacity: maxEntries)
        let stackedTrace = ForwardTrace(model: model, rowCapacity: copiesPerPass * maxSuffixRows,
                                        attentionCapacity: copiesPerPass * maxSuffixEntries)
        let workspace = BackwardWorkspace(model: model, rowCapacity: copiesPerPass * maxSuffixRows,
                                          maxSequenceLength: maxLength)
        let seed = FloatBuffer(count: copiesPerPass * maxSuffixRows * d)
        let deltas = FloatBuffer(count: nForward * maxRows * d)
        let receiverGradients = FloatBuffer(count: nBackward * maxSuffixRows * d)
        let cleanEmbeddings = FloatBuffer(count: maxRows * d)
        let corruptedEmbeddings = FloatBuffer(count: maxRows * d)
        let scores = FloatBuffer(count: nForward * nBackward)
        let readout = MetricReadout(model: model, metric: examples.metric)

        for (batchIndex, range) in batches.enumerated() {
            let batch = Array(all[range])
            let layout = SequenceLayout(lengths: batch.map(\.clean.count))
            let T = layout.rowCount
            let prefixes = Array(prefixLengths[range])
            let suffix = SequenceLayout(lengths: zip(layout.lengths, prefixes).map { $0 - $1 }, prefixLengths: prefixes)
            let Ts = suffix.rowCount
            let metricRows = zip(suffix.offsets, suffix.lengths).map { $0 + $1 - 1 }
            let weight: Float = options.batchNormalized ? 1 / Float(batch.count) : 1
            let weights = [Float](repeating: weight, count: batch.count)

            // Δa from the clean and corrupted forwards (clean attention mask = no padding here).
            model.embed(batch.flatMap(\.clean), into: baseTrace.residual(0))
            model.forward(trace: baseTrace, layout: layout)
            model.embed(batch.flatMap(\.corrupted), into: corruptedTrace.residual(0))
            model.forward(trace: corruptedTrace, layout: layout)
            senderDeltas(clean: baseTrace, corrupted: corruptedTrace, rows: T, into: deltas.pointer)
            // Keep only the computed (suffix) rows: Δa [nForward, Ts, d]; embeddings likewise.
            func compact(_ source: UnsafeMutablePointer<Float>, blocks: Int, into target: UnsafeMutablePointer<Float>) {
                for u in 0..<blocks {
                    var out = target + u * Ts * d
                    for b in 0..<batch.count {
                        let first = layout.offsets[b] + prefixes[b], count = suffix.lengths[b]
                        let sourceBlock: UnsafeMutablePointer<Float> = source + u * T * d
                        for r in 0..<count {
                            let from: UnsafeMutablePointer<Float> = sourceBlock + (first + r) * d
                            if from != out { out.update(from: from, count: d) }
                            out += d
                        }
                    }
                }
            }
            compact(deltas.pointer, blocks: nForward, into: deltas.pointer)
            compact(baseTrace.residual(0), blocks: 1, into: cleanEmbeddings.pointer)
            compact(corruptedTrace.residual(0), blocks: 1, into: corruptedEmbeddings.pointer)

            // Receiver gradients summed over the interpolation points, stacked `copiesPerPass` at a time.
            receiverGradients.zero(first: nBackward * Ts * d)
            let sink = ReceiverGradientSink(gradients: receiverGradients.pointer, baseRows: Ts)
            var done = 0
            while done < alphas.count {
                let chunk = Array(alphas[done..<min(done + copiesPerPass, alphas.count)])
                let stacked = suffix.repeated(chunk.count)
                let prefix = KeyValuePrefix(source: baseTrace,
                                            rowOffsets: Array([[Int]](repeating: layout.offsets, count: chunk.count).joined()))
                let input = stackedTrace.residual(0)
                for (c, alpha) in chunk.enumerated() {
                    let row = input + c * Ts * d
                    for i in 0..<(Ts * d) {
                        let corrupted = corruptedEmbeddings.pointer[i]
                        row[i] = corrupted + alpha * (cleanEmbeddings.pointer[i] - corrupted)
                    }
                }
                model.forward(trace: stackedTrace, layout: stacked, prefix: prefix)
                seed.zero(first: chunk.count * Ts * d)
                let stackedRows = (0..<chunk.count).flatMap { c in metricRows.map { c * Ts + $0 } }
                let stackedExamples = Array([[TaskExample]](repeating: batch, count: chunk.count).joined())
                let stackedWeights = Array([[Float]](repeating: weights, count: chunk.count).joined())
                readout.writeSeeds(finalNorm: stackedTrace.finalNorm, rows: stackedRows, examples: stackedExamples,
                                   weights: stackedWeights, into: seed.pointer)
                model.backward(trace: stackedTrace, finalNormGradient: seed.pointer, workspace: workspace, sink: sink)
                done += chunk.count
                progress?(AttributionProgress(batch: batchIndex, batchCount: batches.count,
                                              stepsDone: done, stepCount: alphas.count))
            }
            // S += Δa [nForward, Ts·d] · Gᵀ [Ts·d, nBackward] / (N·|A|).
            BLAS.sgemm(.none, .transposed, m: nForward, n: nBackward, k: Ts * d,
                       alpha: 1 / Float(N * alphas.count),
                       a: deltas.pointer, lda: Ts * d, b: receiverGradients.pointer, ldb: Ts * d,
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
                                 output: out + g.senderIndex(ofHead: h, layer: l) * block)
            }
            let m = out + g.senderIndex(ofMLP: l) * block
            let mc = corrupted.mlpOutput(l), mx = clean.mlpOutput(l)
            for i in 0..<block { m[i] = mc[i] - mx[i] }
        }
    }
}
