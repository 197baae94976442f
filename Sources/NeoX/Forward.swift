import Tensor

/// The GPT-NeoX forward pass as HF computes it (spec/eap-ig.md §1.3–1.4), Float32, on packed
/// sequences.
extension NeoXModel {
    /// Runs the forward pass on `trace.residual(0)`, which the caller has filled with the input
    /// embeddings (token embeddings, or the IG interpolation of two embeddings), and records
    /// every activation in `trace`. The final layer norm is applied to every row; logits are
    /// computed separately (`logits(trace:rows:into:)`) only where they are needed.
    ///
    /// - Parameter prefix: where sequences with `layout.prefixLengths[b] > 0` read the keys and
    ///   values of their first positions (nil when there are none).
    /// - Parameter hooks: activation patching (`ForwardHooks`); with `hooks.firstLayer = l` the
    ///   caller has filled `trace.residual(l)` and layers before l are not run.
    public func forward(trace: ForwardTrace, layout: SequenceLayout, prefix: KeyValuePrefix? = nil, hooks: ForwardHooks? = nil) {
        precondition(trace.fits(layout), "trace too small for the layout")
        precondition(prefix != nil || layout.prefixLengths.allSatisfy { $0 == 0 }, "prefix lengths need a prefix source")
        precondition(prefix == nil || prefix!.rowOffsets.count == layout.sequenceCount, "one prefix offset per sequence")
        trace.layout = layout
        trace.prefix = prefix
        let R = layout.rowCount
        for l in (hooks?.firstLayer ?? 0)..<layerCount {
            let w = layers[l]
            let x = trace.residual(l), next = trace.residual(l + 1)
            let ln = trace.normScratch.pointer
            // Attention: LN1, fused QKV, rotary, masked softmax mix, dense.
            ParallelKernels.layerNorm(rows: R, width: d, input: x, inputStride: d,
                              weight: w.inputNormWeight.pointer, bias: w.inputNormBias.pointer,
                              eps: config.layerNormEps, output: ln, outputStride: d,
                              normalized: trace.normalized1(l), inverseStd: trace.inverseStd1(l))
            let qkv = trace.qkv(l)
            linear(ln, rows: R, weight: w.qkvWeight, bias: w.qkvBias.pointer, output: qkv, outputStride: 3 * d)
            applyRotary(qkv: qkv, layout: layout)
            hooks?.qkv?(l, qkv)
            attend(qkv: qkv, layout: layout,
                   probabilities: trace.probabilities.pointer + l * heads * trace.attentionCapacity,
                   z: trace.z(l), prefixQKV: prefix.map { UnsafePointer($0.source.qkv(l)) },
                   prefixRowOffsets: prefix?.rowOffsets ?? [])
            hooks?.z?(l, trace.z(l))
            let attnOut = trace.attentionOutput(l)
            linear(trace.z(l), rows: R, weight: w.denseWeight, bias: w.denseBias.pointer, output: attnOut, outputStride: d)
            // MLP on LN2(xˡ) (parallel) or LN2(xˡ + a) (sequential).
            let mlpInput: UnsafeMutablePointer<Float>
            if config.useParallelResidual {
                mlpInput = x
            } else {
                for i in 0..<(R * d) { next[i] = attnOut[i] + x[i] }   // h = a + x, kept in xˡ⁺¹ for now
                mlpInput = next
            }
            ParallelKernels.layerNorm(rows: R, width: d, input: mlpInput, inputStride: d,
                              weight: w.postAttentionNormWeight.pointer, bias: w.postAttentionNormBias.pointer,
                              eps: config.layerNormEps, output: ln, outputStride: d,
                              normalized: trace.normalized2(l), inverseStd: trace.inverseStd2(l))
            mlp(normalizedInput: ln, rows: R, layer: l, preActivation: trace.mlpPreActivation(l),
                activationScratch: trace.activationScratch.pointer, output: trace.mlpOutput(l))
            let m = trace.mlpOutput(l)
            if config.useParallelResidual {
                for i in 0..<(R * d) { next[i] = m[i] + attnOut[i] + x[i] }   // HF order: m + a + x
            } else {
                for i in 0..<(R * d) { next[i] = m[i] + next[i] }
            }
        }
        ParallelKernels.layerNorm(rows: R, width: d, input: trace.residual(layerCount), inputStride: d,
                          weight: finalNormWeight.pointer, bias: finalNormBias.pointer,
                          eps: config.layerNormEps, output: trace.finalNorm, outputStride: d,
                          normalized: trace.finalNormalized.pointer, inverseStd: trace.finalInverseStd.pointer)
    }

    /// Logits at the given rows of the last forward pass: output[i] = finalNorm[rows[i]] · E_outᵀ,
    /// [rows.count, V].
    public func logits(trace: ForwardTrace, rows: [Int], into output: UnsafeMutablePointer<Float>) {
        logits(finalNorm: trace.finalNorm, rows: rows, into: output)
    }

    /// Logits at the given rows of a final-norm output buffer (stride d), [rows.count, V].
    public func logits(finalNorm: UnsafePointer<Float>, rows: [Int], into output: UnsafeMutablePointer<Float>) {
        guard let firstRow = rows.first else { return }
        if rows.enumerated().allSatisfy({ $0.element == firstRow + $0.offset }) {
            unembed(finalNorm + firstRow * d, rows: rows.count, into: output)
            return
        }
        let gathered = FloatBuffer(count: rows.count * d)
        for (i, r) in rows.enumerated() { (gathered.pointer + i * d).update(from: finalNorm + r * d, count: d) }
        unembed(gathered.pointer, rows: rows.count, into: output)
    }

    /// output [rows, V] = x [rows, d] · E_outᵀ.
    func unembed(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        embedOut.multiply(x, rows: rows, into: output, outputStride: vocabSize)
    }

    // MARK: Building blocks (shared with the patched evaluation)

    /// y = x·Wᵀ + b for an HF `nn.Linear` weight W [out, in], or for its output rows `outputs`
    /// (then y has `outputs.count` columns and `bias` starts at the first of them).
    public func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputStride: Int? = nil,
        weight: PackedMatrix, outputs: Range<Int>? = nil, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        weight.multiply(x, rows: rows, inputStride: inputStride, bias: bias, into: output, outputStride: outputStride,
                        rowRange: outputs)
    }

    /// MLP on an already layer-normed input: pre = u·W_4hᵀ + b_4h, out = gelu(pre)·W_hᵀ + b_h.
    public func mlp(
        normalizedInput u: UnsafePointer<Float>, rows: Int, layer l: Int,
        preActivation: UnsafeMutablePointer<Float>, activationScratch: UnsafeMutablePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        let w = layers[l]
        linear(u, rows: rows, weight: w.mlpInWeight, bias: w.mlpInBias.pointer, output: preActivation, outputStride: mlpDim)
        ParallelKernels.gelu(preActivation, into: activationScratch, count: rows * mlpDim)
        linear(activationScratch, rows: rows, weight: w.mlpOutWeight, bias: w.mlpOutBias.pointer, output: output, outputStride: d)
    }

    /// Applies the partial rotary embedding in place to q and k of every head (fused layout,
    /// row stride 3d), position id = row index within its sequence.
    public func applyRotary(qkv: UnsafeMutablePointer<Float>, layout: SequenceLayout) {
        let half = rotary.half, dh = headDim
        guard half > 0 else { return }
        rotary.cos.withUnsafeBufferPointer { cosTable in
            rotary.sin.withUnsafeBufferPointer { sinTable in
                for (b, n) in layout.lengths.enumerated() {
                    let start = layout.prefixLengths[b]
                    for p in 0..<n {
                        let row = qkv + (layout.offsets[b] + p) * 3 * d
                        let c = cosTable.baseAddress! + (start + p) * half, s = sinTable.baseAddress! + (start + p) * half
                        for h in 0..<heads {
                            Kernels.rotate(row + h * 3 * dh, half: half, cos: c, sin: s)
                            Kernels.rotate(row + h * 3 * dh + dh, half: half, cos: c, sin: s)
                        }
                    }
                }
            }
        }
    }

    /// Rotates, in place, one head's q or k block (dh columns starting at `x`, row stride
    /// `stride`) for every row of `layout`, position id = row index within its sequence.
    public func applyRotary(headBlock x: UnsafeMutablePointer<Float>, stride: Int, layout: SequenceLayout) {
        let half = rotary.half
        guard half > 0 else { return }
        rotary.cos.withUnsafeBufferPointer { cosTable in
            rotary.sin.withUnsafeBufferPointer { sinTable in
                for (b, n) in layout.lengths.enumerated() {
                    let start = layout.prefixLengths[b]
                    for p in 0..<n {
                        Kernels.rotate(x + (layout.offsets[b] + p) * stride, half: half,
                                       cos: cosTable.baseAddress! + (start + p) * half,
                                       sin: sinTable.baseAddress! + (start + p) * half)
                    }
                }
            }
        }
    }

    /// Causal, key-masked attention of every head of every sequence:
    /// A = softmax(q·kᵀ·scale) and z_h = A·v_h, written to `z` (stride d, column h·dh + c).
    ///
    /// - Parameters:
    ///   - probabilities: one layer's probability buffer (layout's attention offsets).
    ///   - prefixQKV, prefixRowOffsets: this layer's q/k/v of the cached prefixes (see `KeyValuePrefix`).
    public func attend(
        qkv: UnsafePointer<Float>, layout: SequenceLayout,
        probabilities: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>,
        prefixQKV: UnsafePointer<Float>? = nil, prefixRowOffsets: [Int] = []
    ) {
        // Heads write disjoint probability blocks and z columns: run them on both cores when no
        // block goes through OpenBLAS (which runs its own threads).
        let direct = zip(layout.lengths, layout.prefixLengths).allSatisfy { n, s in n * (s + n) <= Self.directAttentionEntries }
        let source = SendablePointer(UnsafeMutablePointer(mutating: qkv)), p = SendablePointer(probabilities)
        let out = SendablePointer(z), prefixSource = prefixQKV.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        Parallel.forEach(heads, threads: direct ? ParallelKernels.threads : 1) { h in
            attend(head: h, qkv: source.base, layout: layout, probabilities: p.base, probabilityStride: heads, z: out.base,
                   prefixQKV: prefixSource.map { UnsafePointer($0.base) }, prefixRowOffsets: prefixRowOffsets)
        }
    }

    /// Below this many score entries per (sequence, head) block, `attend` multiplies directly
    /// instead of calling OpenBLAS (whose per-call cost dominates 16×16×64 products).
    static let directAttentionEntries = 64 * 64

    /// Attention of one head over every sequence. Sequence b's n×(s+n) block is written at
    /// `probabilities + probabilityStride·attentionOffsets[b] + (probabilityStride > 1 ? h·n·(s+n) : 0)`
    /// (stride = heads for a whole layer buffer, 1 for a single-head buffer).
    public func attend(
        head h: Int, qkv: UnsafePointer<Float>, layout: SequenceLayout,
        probabilities: UnsafeMutablePointer<Float>, probabilityStride: Int, z: UnsafeMutablePointer<Float>,
        prefixQKV: UnsafePointer<Float>? = nil, prefixRowOffsets: [Int] = []
    ) {
        let dh = headDim, ld = 3 * d
        for (b, n) in layout.lengths.enumerated() {
            let base = layout.offsets[b], s = layout.prefixLengths[b], width = s + n
            let q = qkv + base * ld + h * 3 * dh
            let k = q + dh, v = q + 2 * dh
            let a = probabilities + probabilityStride * layout.attentionOffsets[b]
                + (probabilityStride > 1 ? h * n * width : 0)
            let direct = n * width <= Self.directAttentionEntries
            var prefixK: UnsafePointer<Float>? = nil
            if s > 0, let prefixQKV {
                prefixK = prefixQKV + prefixRowOffsets[b] * ld + h * 3 * dh + dh
                scores(direct, m: n, n: s, k: dh, alpha: attentionScale, a: q, lda: ld, b: prefixK!, ldb: ld, c: a, ldc: width)
            }
            scores(direct, m: n, n: n, k: dh, alpha: attentionScale, a: q, lda: ld, b: k, ldb: ld, c: a + s, ldc: width)
            if let mask = layout.keyVisible {
                mask.withUnsafeBufferPointer { m in
                    Kernels.maskedSoftmax(a, rows: n, columns: width, stride: width, causal: true,
                                          keyVisible: m.baseAddress! + base)
                }
            } else {
                Kernels.maskedSoftmax(a, rows: n, columns: width, stride: width, causal: true, keyVisible: nil,
                                      causalOffset: s)
            }
            if let prefixK {
                mix(direct, m: n, n: dh, k: s, a: a, lda: width, b: prefixK + dh, ldb: ld,
                    c: z + base * d + h * dh, ldc: d, accumulate: false)
            }
            mix(direct, m: n, n: dh, k: n, a: a + s, lda: width, b: v, ldb: ld,
                c: z + base * d + h * dh, ldc: d, accumulate: prefixK != nil)
        }
    }

    /// C = α·A·Bᵀ, directly or through OpenBLAS.
    private func scores(
        _ direct: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if direct {
            SmallGemm.multiplyTransposed(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        } else {
            BLAS.sgemm(.none, .transposed, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        }
    }

    /// C (+)= A·B, directly or through OpenBLAS.
    private func mix(
        _ direct: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        if direct {
            SmallGemm.multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
        } else {
            BLAS.sgemm(.none, .none, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                       beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        }
    }
}
