import Tensor

/// Where the backward pass accumulates receiver gradients: a buffer laid out
/// [receiverSlotCount][baseRows][d] in receiver order — per layer the q slots of all heads, the k
/// slots, the v slots, the MLP input; finally the final residual (before the final norm) — the
/// EAP-IG backward index (spec §2.3).
///
/// The traced batch may hold `copies` back-to-back repetitions of `baseRows` rows (IG steps
/// stacked as rows); their gradients are summed into the same base rows (spec §7: G = Σ_k g^(k)).
public struct ReceiverGradientSink: @unchecked Sendable {
    // @unchecked Sendable: a view on a buffer owned by the caller, used by one backward at a time.
    public let gradients: UnsafeMutablePointer<Float>
    public let baseRows: Int

    public init(gradients: UnsafeMutablePointer<Float>, baseRows: Int) {
        self.gradients = gradients
        self.baseRows = baseRows
    }

    /// Adds rows [rowCount, d] of `g` (rowCount a multiple of baseRows) into slot `slot`.
    @inlinable
    func accumulate(slot: Int, _ g: UnsafePointer<Float>, rowCount: Int, d: Int) {
        let target = gradients + slot * baseRows * d
        let perCopy = baseRows * d
        var copy = 0
        while copy * baseRows < rowCount {
            ParallelKernels.add(g + copy * perCopy, into: target, count: perCopy)
            copy += 1
        }
    }
}

/// Scratch buffers of the backward pass, sized once for a row capacity.
///
/// `@unchecked Sendable`: owned by one computation at a time.
public final class BackwardWorkspace: @unchecked Sendable {
    public let rowCapacity: Int
    let gradient: FloatBuffer       // ∂ℒ/∂xˡ⁺¹ flowing down [R, d]
    let nextGradient: FloatBuffer   // ∂ℒ/∂xˡ being built [R, d]
    let slotInput: FloatBuffer      // u before a layer-norm backward [R, d]
    let slotGradient: FloatBuffer   // g after a layer-norm backward [R, d]
    let mlpGradient: FloatBuffer    // [R, d_mlp]
    let zGradient: FloatBuffer      // [R, d]
    let qkvGradient: FloatBuffer    // [R, 3d]
    let scoreGradient: FloatBuffer  // one n×n block

    public init(model: NeoXModel, rowCapacity: Int, maxSequenceLength: Int) {
        let d = model.d, R = rowCapacity
        self.rowCapacity = R
        gradient = FloatBuffer(count: R * d)
        nextGradient = FloatBuffer(count: R * d)
        slotInput = FloatBuffer(count: R * d)
        slotGradient = FloatBuffer(count: R * d)
        mlpGradient = FloatBuffer(count: R * model.mlpDim)
        zGradient = FloatBuffer(count: R * d)
        qkvGradient = FloatBuffer(count: R * 3 * d)
        scoreGradient = FloatBuffer(count: maxSequenceLength * maxSequenceLength)
    }

    /// ∂ℒ/∂x⁰ (the input embeddings) after `backward`, [rows, d].
    public var inputGradient: UnsafeMutablePointer<Float> { gradient.pointer }
}

extension NeoXModel {
    /// Backward pass to activations only (no weight gradients), spec §7.
    ///
    /// Given ∂ℒ/∂(final layer norm output) for every row of the traced forward, propagates through
    /// the final norm, every layer (parallel or sequential residual, MLP with gelu′, attention with
    /// its masks, rotary inverse, fused QKV split per head) and accumulates into `sink`, per
    /// receiver slot, the gradient with respect to that slot's own pre-LayerNorm input: for the
    /// q/k/v slots of head h the path through LN1 and W_{q|k|v},h only; for the MLP the path
    /// through LN2; for the final residual the path through the final norm.
    ///
    /// On return `workspace.inputGradient` holds ∂ℒ/∂x⁰.
    public func backward(
        trace: ForwardTrace, finalNormGradient: UnsafePointer<Float>,
        workspace ws: BackwardWorkspace, sink: ReceiverGradientSink?
    ) {
        guard let layout = trace.layout else { preconditionFailure("backward without a forward") }
        let R = layout.rowCount, dh = headDim, ld = 3 * d, H = heads
        precondition(R <= ws.rowCapacity, "backward workspace too small")
        var dRes = ws.gradient.pointer, dPrev = ws.nextGradient.pointer
        ParallelKernels.layerNormBackward(rows: R, width: d, upstream: finalNormGradient, upstreamStride: d,
                                  normalized: trace.finalNormalized.pointer, inverseStd: trace.finalInverseStd.pointer,
                                  weight: finalNormWeight.pointer, output: dRes, outputStride: d, accumulate: false)
        sink?.accumulate(slot: layerCount * slotsPerLayer, dRes, rowCount: R, d: d)
        let u = ws.slotInput.pointer, g = ws.slotGradient.pointer
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
            let w = layers[l]
            // MLP: dact = dRes·W_h, ⊙ gelu′(pre), u = dpre·W_4h, g = LN2ᵀ(u).
            let dAct = ws.mlpGradient.pointer
            w.mlpOutWeight.multiplyTransposed(dRes, rows: R, into: dAct)
            ParallelKernels.geluBackward(dAct, preActivation: trace.mlpPreActivation(l), count: R * mlpDim)
            w.mlpInWeight.multiplyTransposed(dAct, rows: R, into: u)
            ParallelKernels.layerNormBackward(rows: R, width: d, upstream: u, upstreamStride: d,
                                      normalized: trace.normalized2(l), inverseStd: trace.inverseStd2(l),
                                      weight: w.postAttentionNormWeight.pointer, output: g, outputStride: d,
                                      accumulate: false)
            sink?.accumulate(slot: l * slotsPerLayer + 3 * H, g, rowCount: R, d: d)
            // ∂ℒ/∂(attention output): dRes (parallel) or dRes + g_mlp (sequential, through h = a + x).
            for i in 0..<(R * d) { dPrev[i] = dRes[i] + g[i] }
            let dAttn = config.useParallelResidual ? dRes : dPrev
            // dz = dAttn · W_dense.
            let dz = ws.zGradient.pointer
            w.denseWeight.multiplyTransposed(dAttn, rows: R, into: dz)
            attentionBackward(trace: trace, layer: l, layout: layout, dz: dz,
                              dqkv: ws.qkvGradient.pointer, scratch: ws.scoreGradient.pointer)
            // Per slot: u = dslot·W_slot,h ([R,dh]·[dh,d]), g = LN1ᵀ(u); sum into ∂ℒ/∂xˡ.
            let dqkv = ws.qkvGradient.pointer
            for j in 0..<3 {
                for h in 0..<H {
                    let column = h * 3 * dh + j * dh
                    w.qkvWeight.multiplyTransposed(dqkv + column, rows: R, gradientStride: ld, into: u,
                                                   rowRange: column..<column + dh)
                    ParallelKernels.layerNormBackward(rows: R, width: d, upstream: u, upstreamStride: d,
                                              normalized: trace.normalized1(l), inverseStd: trace.inverseStd1(l),
                                              weight: w.inputNormWeight.pointer, output: g, outputStride: d,
                                              accumulate: false)
                    sink?.accumulate(slot: l * slotsPerLayer + j * H + h, g, rowCount: R, d: d)
                    ParallelKernels.add(g, into: dPrev, count: R * d)
                }
            }
            swap(&dRes, &dPrev)
        }
        if dRes != ws.gradient.pointer { ws.gradient.pointer.update(from: dRes, count: R * d) }
    }

    /// Attention backward for one layer: from dz (∂ℒ/∂z, stride d) to ∂ℒ/∂(pre-rotary q, k, v)
    /// in the fused layout (stride 3d).
    func attentionBackward(
        trace: ForwardTrace, layer l: Int, layout: SequenceLayout, dz: UnsafePointer<Float>,
        dqkv: UnsafeMutablePointer<Float>, scratch dA: UnsafeMutablePointer<Float>
    ) {
        let dh = headDim, ld = 3 * d
        let qkv = trace.qkv(l)
        let prefixQKV = trace.prefix.map { UnsafePointer($0.source.qkv(l)) }
        for (b, n) in layout.lengths.enumerated() {
            let base = layout.offsets[b], s = layout.prefixLengths[b], width = s + n
            for h in 0..<heads {
                let a = trace.attentionProbabilities(layer: l, sequence: b, head: h)
                let q = qkv + base * ld + h * 3 * dh, k = q + dh, v = q + 2 * dh
                let dq = dqkv + base * ld + h * 3 * dh, dk = dq + dh, dv = dq + 2 * dh
                let dzh = dz + base * d + h * dh
                var prefixK: UnsafePointer<Float>? = nil
                if s > 0, let prefixQKV, let offsets = trace.prefix?.rowOffsets {
                    prefixK = prefixQKV + offsets[b] * ld + h * 3 * dh + dh
                }
                // dA = dz_h · vᵀ (prefix columns, then own columns); dv_h = A[:, s:]ᵀ · dz_h.
                if let prefixK {
                    BLAS.sgemm(.none, .transposed, m: n, n: s, k: dh, a: dzh, lda: d, b: prefixK + dh, ldb: ld,
                               c: dA, ldc: width)
                }
                BLAS.sgemm(.none, .transposed, m: n, n: n, k: dh, a: dzh, lda: d, b: v, ldb: ld, c: dA + s, ldc: width)
                BLAS.sgemm(.transposed, .none, m: n, n: dh, k: n, a: a + s, lda: width, b: dzh, ldb: d, c: dv, ldc: ld)
                // dS = A ⊙ (dA − rowsum(dA ⊙ A)), then the scale.
                Kernels.softmaxBackward(gradient: dA, probabilities: a, rows: n, columns: width, stride: width)
                // dq = scale · dS · k ; dk = scale · dS[:, s:]ᵀ · q (post-rotary q and k). Prefix keys
                // and values get no gradient: their receiver gradients would meet Δa = 0.
                if let prefixK {
                    BLAS.sgemm(.none, .none, m: n, n: dh, k: s, alpha: attentionScale,
                               a: dA, lda: width, b: prefixK, ldb: ld, c: dq, ldc: ld)
                }
                BLAS.sgemm(.none, .none, m: n, n: dh, k: n, alpha: attentionScale,
                           a: dA + s, lda: width, b: k, ldb: ld, beta: prefixK == nil ? 0 : 1, c: dq, ldc: ld)
                BLAS.sgemm(.transposed, .none, m: n, n: dh, k: n, alpha: attentionScale,
                           a: dA + s, lda: width, b: q, ldb: ld, c: dk, ldc: ld)
            }
        }
        // Rotary backward: rotate dq and dk by −angle.
        let half = rotary.half
        guard half > 0 else { return }
        rotary.cos.withUnsafeBufferPointer { cosTable in
            rotary.sin.withUnsafeBufferPointer { sinTable in
                for (b, n) in layout.lengths.enumerated() {
                    let start = layout.prefixLengths[b]
                    for p in 0..<n {
                        let row = dqkv + (layout.offsets[b] + p) * ld
                        let c = cosTable.baseAddress! + (start + p) * half, s = sinTable.baseAddress! + (start + p) * half
                        for h in 0..<heads {
                            Kernels.rotateInverse(row + h * 3 * dh, half: half, cos: c, sin: s)
                            Kernels.rotateInverse(row + h * 3 * dh + dh, half: half, cos: c, sin: s)
                        }
                    }
                }
            }
        }
    }
}
