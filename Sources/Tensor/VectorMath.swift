/// Branch-free SIMD versions of the transcendental functions in the hot element-wise kernels
/// (libm's scalar `erf`/`exp` cost ~10–20 ns an element and dominated the MLP's GELU).
///
/// The GELU follows what PyTorch's CPU kernel computes for `F.gelu` (ATen `Vectorized<float>::erf`):
/// erf by Abramowitz–Stegun 7.1.26 (absolute error ≤ 1.5·10⁻⁷) with a polynomial exp.
public enum VectorMath {
    public typealias Vector = SIMD8<Float>

    /// exp(x) for x ∈ [−87, 88] (inputs outside are clamped): Cody–Waite range reduction and the
    /// Cephes degree-6 polynomial, relative error ≈ 1 ulp. SSE2-only operations (no roundps).
    @inlinable @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        var clamped = x
        clamped.replace(with: -87.3, where: clamped .< -87.3)
        clamped.replace(with: 88.3, where: clamped .> 88.3)
        // n = round(x / ln 2) with the 1.5·2²³ trick; the low mantissa bits then hold n.
        let magic = Vector(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 0.166_666_65
        p = p * r + 0.500_000_01
        p = p * (r * r) + r + 1
        // 2ⁿ: (n + 127) << 23, with n read back from the shifted value's bits.
        let bits = SIMD8<Int32>(truncatingIfNeeded: shifted.bitPattern(as: UInt32.self))
            &- 0x4B40_0000 &+ 127
        return p * Vector.fromBits(bits &<< 23)
    }

    /// erf(x), Abramowitz–Stegun 7.1.26: 1 − t·(a₁ + t·(a₂ + …))·e^(−x²), t = 1/(1 + p|x|).
    @inlinable @inline(__always)
    public static func erf(_ x: Vector) -> Vector {
        let signBits = x.bitPattern(as: UInt32.self) & 0x8000_0000
        let a = Vector.fromBits(SIMD8<Int32>(truncatingIfNeeded: x.bitPattern(as: UInt32.self) & 0x7FFF_FFFF))
        let t = 1 / (a * 0.327_591_1 + 1)
        var r = Vector(repeating: 1.061_405_429)
        r = r * t - 1.453_152_027
        r = r * t + 1.421_413_741
        r = r * t - 0.284_496_736
        r = r * t + 0.254_829_592
        let y = 1 - r * t * exp(-(a * a))
        return Vector.fromBits(SIMD8<Int32>(truncatingIfNeeded: y.bitPattern(as: UInt32.self) | signBits))
    }

    /// gelu(x) = 0.5·x·(1 + erf(x/√2)).
    @inlinable @inline(__always)
    public static func gelu(_ x: Vector) -> Vector {
        0.5 * x * (1 + erf(x * 0.707_106_781_186_547_52))
    }

    /// gelu′(x) = Φ(x) + x·φ(x).
    @inlinable @inline(__always)
    public static func geluDerivative(_ x: Vector) -> Vector {
        let cdf = 0.5 * (1 + erf(x * 0.707_106_781_186_547_52))
        return cdf + x * exp(-0.5 * x * x) * 0.398_942_280_401_432_68
    }

    /// grad[i] ← grad[i]·gelu′(pre[i]) for `count` elements.
    @inlinable
    public static func geluBackward(_ grad: UnsafeMutablePointer<Float>, preActivation pre: UnsafePointer<Float>, count: Int) {
        update(grad, from: pre, count: count) { g, x in g * geluDerivative(x) }
    }

    /// out[i] = gelu(input[i]) for `count` elements.
    @inlinable
    public static func gelu(_ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        update(out, from: input, count: count) { _, x in gelu(x) }
    }

    /// y[i] ← f(y[i], x[i]) eight lanes at a time; a tail of fewer than eight goes through a
    /// zero-padded vector.
    @inlinable @inline(__always)
    static func update(
        _ y: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>, count: Int, _ f: (Vector, Vector) -> Vector
    ) {
        let full = count / Vector.scalarCount * Vector.scalarCount
        var i = 0
        while i < full {
            let result = f(UnsafeRawPointer(y + i).loadUnaligned(as: Vector.self),
                           UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self))
            UnsafeMutableRawPointer(y + i).storeBytes(of: result, as: Vector.self)
            i += Vector.scalarCount
        }
        guard i < count else { return }
        var xs = Vector(), ys = Vector()
        for j in 0..<(count - i) { xs[j] = x[i + j]; ys[j] = y[i + j] }
        let result = f(ys, xs)
        for j in 0..<(count - i) { y[i + j] = result[j] }
    }
}

extension SIMD8 where Scalar == Float {
    /// The lanes' bit patterns.
    @usableFromInline @inline(__always)
    func bitPattern(as: UInt32.Type) -> SIMD8<UInt32> { unsafeBitCast(self, to: SIMD8<UInt32>.self) }

    /// Floats with the given bit patterns.
    @usableFromInline @inline(__always)
    static func fromBits(_ bits: SIMD8<Int32>) -> Self { unsafeBitCast(bits, to: Self.self) }
}

/// Direct products for the per-head attention blocks (a few dozen rows, d_head columns), where an
/// OpenBLAS call costs more in dispatch and packing than the arithmetic.
public enum SmallGemm {
    /// C[i, j] = α·Σ_c A[i, c]·B[j, c] (C = α·A·Bᵀ) for i < m, j < n.
    @inlinable
    public static func multiplyTransposed(
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let full = k / 8 * 8
        for i in 0..<m {
            let ai = a + i * lda
            for j in 0..<n {
                let bj = b + j * ldb
                var acc = SIMD8<Float>()
                var col = 0
                while col < full {
                    acc += UnsafeRawPointer(ai + col).loadUnaligned(as: SIMD8<Float>.self)
                        * UnsafeRawPointer(bj + col).loadUnaligned(as: SIMD8<Float>.self)
                    col += 8
                }
                var sum = acc.sum()
                while col < k { sum += ai[col] * bj[col]; col += 1 }
                c[i * ldc + j] = alpha * sum
            }
        }
    }

    /// C[i, :] = Σ_j A[i, j]·B[j, :] (C = A·B), added to C when `accumulate`. Zero entries of A
    /// (masked attention) are skipped.
    @inlinable
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let full = n / 8 * 8
        for i in 0..<m {
            let ci = c + i * ldc
            if !accumulate { ci.update(repeating: 0, count: n) }
            for j in 0..<k {
                let w = a[i * lda + j]
                if w == 0 { continue }
                let bj = b + j * ldb
                let wv = SIMD8<Float>(repeating: w)
                var col = 0
                while col < full {
                    let sum = UnsafeRawPointer(ci + col).loadUnaligned(as: SIMD8<Float>.self)
                        + wv * UnsafeRawPointer(bj + col).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(ci + col).storeBytes(of: sum, as: SIMD8<Float>.self)
                    col += 8
                }
                while col < n { ci[col] += w * bj[col]; col += 1 }
            }
        }
    }
}
