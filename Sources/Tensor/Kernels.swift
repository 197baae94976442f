import Foundation

/// The fused element-wise kernels of the GPT-NeoX forward and backward (spec/eap-ig.md §1.3–1.4,
/// §7), on raw row-major pointers so that hot loops never allocate.
///
/// Conventions: a "row" is one d-dimensional vector; `ld` is the distance in elements between
/// consecutive rows. Every kernel is single-threaded; callers parallelise over rows when it pays.
public enum Kernels {
    // MARK: Layer norm

    /// LN(x) = (x − μ)/sqrt(σ² + eps) ⊙ w + b with the biased variance, per row.
    ///
    /// Writes the normalised x̂ (before w and b) to `normalized` and 1/sqrt(σ² + eps) to
    /// `inverseStd` when given: the backward needs both. `output` may alias `input`.
    @inlinable
    public static func layerNorm(
        rows: Int, width d: Int,
        input: UnsafePointer<Float>, inputStride: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
        output: UnsafeMutablePointer<Float>, outputStride: Int,
        normalized: UnsafeMutablePointer<Float>? = nil, inverseStd: UnsafeMutablePointer<Float>? = nil
    ) {
        let full = d / 8 * 8
        for r in 0..<rows {
            let x = input + r * inputStride
            // Two passes (mean, then squared deviations) in eight Float lanes, reduced in Double.
            var lanes = SIMD8<Float>()
            var c = 0
            while c < full { lanes += UnsafeRawPointer(x + c).loadUnaligned(as: SIMD8<Float>.self); c += 8 }
            var sum: Double = 0
            for j in 0..<8 { sum += Double(lanes[j]) }
            while c < d { sum += Double(x[c]); c += 1 }
            let mean = Float(sum / Double(d))
            lanes = SIMD8<Float>()
            c = 0
            while c < full {
                let t = UnsafeRawPointer(x + c).loadUnaligned(as: SIMD8<Float>.self) - mean
                lanes += t * t
                c += 8
            }
            var sq: Double = 0
            for j in 0..<8 { sq += Double(lanes[j]) }
            while c < d { let t = Double(x[c] - mean); sq += t * t; c += 1 }
            let variance = Float(sq / Double(d))
            let rstd = 1 / (variance + eps).squareRoot()
            let y = output + r * outputStride
            if let normalized {
                let n = normalized + r * d
                for c in 0..<d {
                    let h = (x[c] - mean) * rstd
                    n[c] = h
                    y[c] = h * weight[c] + bias[c]
                }
            } else {
                for c in 0..<d { y[c] = (x[c] - mean) * rstd * weight[c] + bias[c] }
            }
            inverseStd?[r] = rstd
        }
    }

    /// Backward of `layerNorm` with respect to its input, per row:
    /// g = rstd·(w⊙u − mean(w⊙u) − x̂·mean(x̂⊙w⊙u)).
    ///
    /// - Parameters:
    ///   - upstream: ∂ℒ/∂LN(x), rows of `upstreamStride`.
    ///   - normalized: x̂ rows (stride d), `inverseStd`: per-row rstd.
    ///   - accumulate: add into `output` instead of overwriting it.
    @inlinable
    public static func layerNormBackward(
        rows: Int, width d: Int,
        upstream: UnsafePointer<Float>, upstreamStride: Int,
        normalized: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
        weight: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool
    ) {
        let invD = 1 / Float(d)
        for r in 0..<rows {
            let u = upstream + r * upstreamStride
            let h = normalized + r * d
            var sumWU: Float = 0, sumHWU: Float = 0
            for c in 0..<d {
                let wu = weight[c] * u[c]
                sumWU += wu
                sumHWU += wu * h[c]
            }
            let meanWU = sumWU * invD, meanHWU = sumHWU * invD
            let rstd = inverseStd[r]
            let o = output + r * outputStride
            if accumulate {
                for c in 0..<d { o[c] += rstd * (weight[c] * u[c] - meanWU - h[c] * meanHWU) }
            } else {
                for c in 0..<d { o[c] = rstd * (weight[c] * u[c] - meanWU - h[c] * meanHWU) }
            }
        }
    }

    // MARK: GELU (exact erf)

    /// gelu(x) = 0.5·x·(1 + erf(x/√2)), the form HF `GELUActivation` and `F.gelu` use.
    @inlinable
    public static func gelu(_ x: Float) -> Float { 0.5 * x * (1 + erf(x * 0.70710678118654752)) }

    /// gelu'(x) = Φ(x) + x·φ(x).
    @inlinable
    public static func geluDerivative(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + erf(x * 0.70710678118654752))
        let pdf = exp(-0.5 * x * x) * 0.39894228040143268
        return cdf + x * pdf
    }

    /// In place: x ← gelu(x) over `count` contiguous elements.
    @inlinable
    public static func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = gelu(x[i]) }
    }

    /// out ← gelu(pre) and leaves `pre` untouched (vectorised, `VectorMath.gelu`).
    @inlinable
    public static func gelu(_ pre: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        VectorMath.gelu(pre, into: out, count: count)
    }

    /// In place: grad ← grad ⊙ gelu'(pre) (vectorised, `VectorMath.geluBackward`).
    @inlinable
    public static func geluBackward(
        _ grad: UnsafeMutablePointer<Float>, preActivation: UnsafePointer<Float>, count: Int
    ) {
        VectorMath.geluBackward(grad, preActivation: preActivation, count: count)
    }

    // MARK: Softmax

    /// Row-wise softmax with masking: entry j of row i is allowed iff `j ≤ i + causalOffset`
    /// (when `causal`) and `keyVisible?[j] != false`.
    /// Disallowed entries become exact zeros. A row with no allowed entry becomes all zeros.
    @inlinable
    public static func maskedSoftmax(
        _ scores: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int,
        causal: Bool, keyVisible: UnsafePointer<Bool>?, causalOffset: Int = 0
    ) {
        for i in 0..<rows {
            let s = scores + i * stride
            let limit = causal ? min(i + 1 + causalOffset, columns) : columns
            var maxValue = -Float.infinity
            for j in 0..<limit where keyVisible?[j] ?? true { maxValue = max(maxValue, s[j]) }
            if maxValue == -Float.infinity {
                for j in 0..<columns { s[j] = 0 }
                continue
            }
            var sum: Float = 0
            for j in 0..<limit {
                if keyVisible?[j] ?? true {
                    let e = exp(s[j] - maxValue)
                    s[j] = e
                    sum += e
                } else {
                    s[j] = 0
                }
            }
            let inv = 1 / sum
            for j in 0..<limit { s[j] *= inv }
            for j in limit..<columns { s[j] = 0 }
        }
    }

    /// Softmax backward in place: dS ← A ⊙ (dA − rowsum(dA ⊙ A)), rows of `stride`.
    @inlinable
    public static func softmaxBackward(
        gradient dA: UnsafeMutablePointer<Float>, probabilities a: UnsafePointer<Float>,
        rows: Int, columns: Int, stride: Int
    ) {
        for i in 0..<rows {
            let g = dA + i * stride, p = a + i * stride
            var dot: Float = 0
            for j in 0..<columns { dot += g[j] * p[j] }
            for j in 0..<columns { g[j] = p[j] * (g[j] - dot) }
        }
    }

    // MARK: Rotary (NeoX rotate-half, partial)

    /// Rotates the first `2·half` dimensions of one head vector by the angles of one position:
    /// y[i] = x[i]·cos − x[i+half]·sin, y[i+half] = x[i+half]·cos + x[i]·sin (spec §1.4).
    @inlinable
    public static func rotate(
        _ x: UnsafeMutablePointer<Float>, half: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        for i in 0..<half {
            let a = x[i], b = x[i + half]
            x[i] = a * cos[i] - b * sin[i]
            x[i + half] = b * cos[i] + a * sin[i]
        }
    }

    /// The transpose of `rotate` (rotation by −angle): the rotary backward.
    @inlinable
    public static func rotateInverse(
        _ x: UnsafeMutablePointer<Float>, half: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        for i in 0..<half {
            let a = x[i], b = x[i + half]
            x[i] = a * cos[i] + b * sin[i]
            x[i + half] = b * cos[i] - a * sin[i]
        }
    }

    // MARK: Small helpers

    /// y ← y + x over `count` elements.
    @inlinable
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }
}

/// Rotary cos/sin tables for positions 0..<maxPositions, computed in Float32 exactly as HF's
/// `GPTNeoXRotaryEmbedding`: inv_freq[i] = 1/base^(2i/R), angle = p·inv_freq[i].
public struct RotaryTable: Sendable {
    public let half: Int
    public let maxPositions: Int
    /// [maxPositions, half] each.
    public let cos: [Float]
    public let sin: [Float]

    public init(rotaryDims: Int, base: Double, maxPositions: Int) {
        half = rotaryDims / 2
        self.maxPositions = maxPositions
        var cosTable = [Float](repeating: 1, count: maxPositions * half)
        var sinTable = [Float](repeating: 0, count: maxPositions * half)
        let baseF = Float(base)
        for i in 0..<half {
            let invFreq = 1 / Foundation.pow(baseF, Float(2 * i) / Float(rotaryDims))
            for p in 0..<maxPositions {
                let angle = Float(p) * invFreq
                cosTable[p * half + i] = Foundation.cos(angle)
                sinTable[p * half + i] = Foundation.sin(angle)
            }
        }
        cos = cosTable
        sin = sinTable
    }
}

/// Runs `body(i)` for i in 0..<count on up to `threads` threads (DispatchQueue.concurrentPerform).
/// With count ≤ 1 or a tiny problem the body runs inline.
public enum Parallel {
    public static func forEach(_ count: Int, threads: Int = 2, _ body: @Sendable (Int) -> Void) {
        if count <= 1 || threads <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    /// Splits 0..<count into `chunks` contiguous ranges and runs them concurrently.
    public static func forRanges(_ count: Int, chunks: Int = 2, _ body: @Sendable (Range<Int>) -> Void) {
        let n = max(1, min(chunks, count))
        if n == 1 {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let lo = count * i / n, hi = count * (i + 1) / n
            body(lo..<hi)
        }
    }
}

/// Row-parallel versions of the kernels for large batches: two threads (the machine's cores)
/// while OpenBLAS is idle between GEMMs. Small problems run inline.
public enum ParallelKernels {
    /// Below this many elements a kernel runs on the calling thread.
    public static let threshold = 1 << 15
    /// Threads used for element-wise kernels.
    public static let threads = 2

    @inlinable
    static func split(_ rows: Int, work: Int, _ body: @Sendable (Range<Int>) -> Void) {
        if work < threshold || threads <= 1 || rows < 2 { body(0..<rows); return }
        Parallel.forRanges(rows, chunks: threads, body)
    }

    public static func layerNorm(
        rows: Int, width d: Int, input: UnsafePointer<Float>, inputStride: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
        output: UnsafeMutablePointer<Float>, outputStride: Int,
        normalized: UnsafeMutablePointer<Float>?, inverseStd: UnsafeMutablePointer<Float>?
    ) {
        let i = SendablePointer(UnsafeMutablePointer(mutating: input)), o = SendablePointer(output)
        let w = SendablePointer(UnsafeMutablePointer(mutating: weight)), b = SendablePointer(UnsafeMutablePointer(mutating: bias))
        let n = normalized.map(SendablePointer.init), s = inverseStd.map(SendablePointer.init)
        split(rows, work: rows * d) { r in
            Kernels.layerNorm(rows: r.count, width: d, input: i.base + r.lowerBound * inputStride, inputStride: inputStride,
                              weight: w.base, bias: b.base, eps: eps,
                              output: o.base + r.lowerBound * outputStride, outputStride: outputStride,
                              normalized: n.map { $0.base + r.lowerBound * d }, inverseStd: s.map { $0.base + r.lowerBound })
        }
    }

    public static func layerNormBackward(
        rows: Int, width d: Int, upstream: UnsafePointer<Float>, upstreamStride: Int,
        normalized: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool
    ) {
        let u = SendablePointer(UnsafeMutablePointer(mutating: upstream)), n = SendablePointer(UnsafeMutablePointer(mutating: normalized))
        let s = SendablePointer(UnsafeMutablePointer(mutating: inverseStd)), w = SendablePointer(UnsafeMutablePointer(mutating: weight))
        let o = SendablePointer(output)
        split(rows, work: rows * d) { r in
            Kernels.layerNormBackward(rows: r.count, width: d, upstream: u.base + r.lowerBound * upstreamStride,
                                      upstreamStride: upstreamStride, normalized: n.base + r.lowerBound * d,
                                      inverseStd: s.base + r.lowerBound, weight: w.base,
                                      output: o.base + r.lowerBound * outputStride, outputStride: outputStride,
                                      accumulate: accumulate)
        }
    }

    public static func gelu(_ pre: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        let p = SendablePointer(UnsafeMutablePointer(mutating: pre)), o = SendablePointer(out)
        split(count, work: count * 8) { r in
            Kernels.gelu(p.base + r.lowerBound, into: o.base + r.lowerBound, count: r.count)
        }
    }

    public static func geluBackward(_ grad: UnsafeMutablePointer<Float>, preActivation: UnsafePointer<Float>, count: Int) {
        let g = SendablePointer(grad), p = SendablePointer(UnsafeMutablePointer(mutating: preActivation))
        split(count, work: count * 8) { r in
            Kernels.geluBackward(g.base + r.lowerBound, preActivation: p.base + r.lowerBound, count: r.count)
        }
    }

    /// y ← y + x.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), ys = SendablePointer(y)
        split(count, work: count) { r in
            Kernels.add(xs.base + r.lowerBound, into: ys.base + r.lowerBound, count: r.count)
        }
    }
}
