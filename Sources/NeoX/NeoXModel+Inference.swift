import Tensor

/// Convenience entry points on token ids: logits, hidden states, attention patterns and
/// per-head outputs. Padded batches follow HF: right padding, position ids 0..P−1 on every
/// row, query i sees key j iff j ≤ i and mask[j] = 1.
extension NeoXModel {
    /// Runs one forward pass over a [B, P] batch of token ids with an optional [B, P] 0/1
    /// attention mask and returns the trace.
    /// - Throws: `NeoXModelError` for ragged rows, out-of-vocabulary ids or too-long rows.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func run(inputIds: [[Int]], attentionMask: [[Int]]? = nil) throws(NeoXModelError) -> ForwardTrace {
        guard let width = inputIds.first?.count, width > 0 else { throw .badInput("empty batch of input ids") }
        for (b, row) in inputIds.enumerated() {
            guard row.count == width else { throw .badInput("row \(b) has \(row.count) ids, row 0 has \(width)") }
            try validate(tokens: row, sequence: b)
        }
        var visible: [Bool]? = nil
        if let attentionMask {
            guard attentionMask.count == inputIds.count, attentionMask.allSatisfy({ $0.count == width }) else {
                throw .badInput("attention mask shape differs from input ids [\(inputIds.count), \(width)]")
            }
            visible = attentionMask.flatMap { $0.map { $0 != 0 } }
        }
        let layout = SequenceLayout(lengths: Array(repeating: width, count: inputIds.count), keyVisible: visible)
        let trace = ForwardTrace(model: self, layout: layout)
        embed(inputIds.flatMap { $0 }, into: trace.residual(0))
        forward(trace: trace, layout: layout)
        return trace
    }

    /// Logits [B, P, V] for every position.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func logits(inputIds: [[Int]], attentionMask: [[Int]]? = nil) throws(NeoXModelError) -> Tensor {
        let trace = try run(inputIds: inputIds, attentionMask: attentionMask)
        let B = inputIds.count, P = inputIds[0].count
        var out = Tensor(zeros: [B, P, vocabSize])
        out.storage.withUnsafeMutableBufferPointer { o in
            logits(trace: trace, rows: Array(0..<(B * P)), into: o.baseAddress!)
        }
        return out
    }

    /// Logits [B, V] at one position per row (e.g. each row's last real token), computing the
    /// unembedding only there.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func logits(
        inputIds: [[Int]], attentionMask: [[Int]]? = nil, atPositions positions: [Int]
    ) throws(NeoXModelError) -> Tensor {
        let trace = try run(inputIds: inputIds, attentionMask: attentionMask)
        let P = inputIds[0].count
        guard positions.count == inputIds.count, positions.allSatisfy({ $0 >= 0 && $0 < P }) else {
            throw .badInput("need one position in 0..<\(P) per row, got \(positions)")
        }
        var out = Tensor(zeros: [inputIds.count, vocabSize])
        out.storage.withUnsafeMutableBufferPointer { o in
            logits(trace: trace, rows: positions.enumerated().map { $0.offset * P + $0.element }, into: o.baseAddress!)
        }
        return out
    }

    /// Hidden states as HF's `output_hidden_states` minus the final norm: L+1 tensors [B, P, d]
    /// (embeddings, then the residual after each layer), and the final layer norm output [B, P, d].
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func hiddenStates(
        inputIds: [[Int]], attentionMask: [[Int]]? = nil
    ) throws(NeoXModelError) -> (residuals: [Tensor], finalNorm: Tensor) {
        let trace = try run(inputIds: inputIds, attentionMask: attentionMask)
        let shape = [inputIds.count, inputIds[0].count, d]
        let rows = shape[0] * shape[1]
        func copy(_ p: UnsafeMutablePointer<Float>) -> Tensor {
            var t = Tensor(zeros: shape)
            t.storage.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p, count: rows * d) }
            return t
        }
        return ((0...layerCount).map { copy(trace.residual($0)) }, copy(trace.finalNorm))
    }

    /// Attention patterns of one unpadded prompt: `[layer][head]` → [P, P] (query-major rows;
    /// entries above the diagonal are 0).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func attentionPatterns(tokens: [Int]) throws(NeoXModelError) -> [[Tensor]] {
        let trace = try run(inputIds: [tokens])
        let n = tokens.count
        return (0..<layerCount).map { l in
            (0..<heads).map { h in
                let p = trace.attentionProbabilities(layer: l, sequence: 0, head: h)
                var t = Tensor(zeros: [n, n])
                t.storage.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p, count: n * n) }
                return t
            }
        }
    }

    /// Per-head outputs of one unpadded prompt, `[layer][head]` → [P, d]: z_h·W_O,h, without b_O
    /// (TransformerLens `hook_result`, the EAP-IG sender value of `a{l}.h{h}`).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func headOutputs(tokens: [Int]) throws(NeoXModelError) -> [[Tensor]] {
        let trace = try run(inputIds: [tokens])
        let n = tokens.count
        return (0..<layerCount).map { l in
            (0..<heads).map { h in
                var t = Tensor(zeros: [n, d])
                t.storage.withUnsafeMutableBufferPointer { o in
                    headResult(z: trace.z(l), zStride: d, rows: n, layer: l, head: h, output: o.baseAddress!)
                }
                return t
            }
        }
    }

    /// Head h's contribution to the residual: z_h [rows, dh] (column h·dh of `z`) · W_O,h, where
    /// W_O,h = W_dense[:, h·dh ..< (h+1)·dh]ᵀ. Excludes b_O.
    public func headResult(
        z: UnsafePointer<Float>, zStride: Int, rows: Int, layer l: Int, head h: Int, output: UnsafeMutablePointer<Float>
    ) {
        layers[l].denseWeight.multiply(z + h * headDim, rows: rows, inputStride: zStride, into: output, outputStride: d,
                                       columnRange: h * headDim..<(h + 1) * headDim)
    }
}
