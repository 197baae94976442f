import Foundation
import Testing
@testable import Tensor

/// The SIMD exp/erf/GELU against libm in Double, and the direct attention products against a
/// naive sum.
struct VectorMathTests {
    /// Points from −12 to 12 (step 1/64, 1537 of them, not a multiple of 8 so the tail runs),
    /// plus values near 0 and large magnitudes.
    private static let points: [Float] =
        (0...1536).map { Float($0) / 64 - 12 } + [0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 40, -40, 1e4, -1e4]

    @Test func expMatchesLibmToAFewUlp() {
        for x in stride(from: Float(-87), through: 88, by: 0.37) {
            let got = VectorMath.exp(SIMD8(repeating: x))[0]
            let want = Foundation.exp(Double(x))
            #expect(abs(Double(got) - want) <= 3e-7 * want, "exp(\(x)) = \(got), libm \(want)")
        }
    }

    /// The formula's own bound is 1.5·10⁻⁷; Float rounding of its terms adds up to ~2·10⁻⁷.
    @Test func erfWithinAbramowitzStegunBound() {
        for x in Self.points {
            let got = VectorMath.erf(SIMD8(repeating: x))[3]
            let want = Foundation.erf(Double(x))
            #expect(abs(Double(got) - want) <= 4e-7, "erf(\(x)) = \(got), libm \(want)")
        }
    }

    @Test func geluKernelMatchesExactGelu() {
        let input = Self.points
        var output = [Float](repeating: .nan, count: input.count)
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                Kernels.gelu(i.baseAddress!, into: o.baseAddress!, count: i.count)
            }
        }
        for (x, got) in zip(input, output) {
            let xd = Double(x)
            let want = 0.5 * xd * (1 + Foundation.erf(xd / 2.0.squareRoot()))
            #expect(abs(Double(got) - want) <= 2e-7 * max(1, abs(xd)), "gelu(\(x)) = \(got), exact \(want)")
        }
    }

    @Test func geluBackwardMatchesExactDerivative() {
        let pre = Self.points
        var grad = pre.indices.map { Float($0 % 7) - 3 }
        let upstream = grad
        pre.withUnsafeBufferPointer { p in
            grad.withUnsafeMutableBufferPointer { g in
                Kernels.geluBackward(g.baseAddress!, preActivation: p.baseAddress!, count: p.count)
            }
        }
        for i in pre.indices {
            let x = Double(pre[i])
            let derivative = 0.5 * (1 + Foundation.erf(x / 2.0.squareRoot())) + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
            let want = Double(upstream[i]) * derivative
            #expect(abs(Double(grad[i]) - want) <= 1e-6 * max(1, abs(Double(upstream[i]))), "gelu′(\(x))")
        }
    }

    @Test(arguments: [(16, 16, 64), (5, 9, 8), (3, 11, 13)])
    func smallProductsMatchNaiveSums(m: Int, n: Int, k: Int) {
        var state: UInt32 = 99
        func next() -> Float {
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24) - 0.5
        }
        // A [m, k] (ld k+3), B [n, k] (ld k+1) for A·Bᵀ; W [m, n] (ld n+2) for W·B with B as [n, k].
        let lda = k + 3, ldb = k + 1, ldw = n + 2
        let a = (0..<(m * lda)).map { _ in next() }, b = (0..<(n * ldb)).map { _ in next() }
        var w = (0..<(m * ldw)).map { _ in next() }
        w[0] = 0   // a skipped zero weight
        var scores = [Float](repeating: .nan, count: m * n)
        var mixed = [Float](repeating: 1, count: m * k)
        SmallGemm.multiplyTransposed(m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, c: &scores, ldc: n)
        SmallGemm.multiply(m: m, n: k, k: n, a: w, lda: ldw, b: b, ldb: ldb, c: &mixed, ldc: k, accumulate: true)
        for i in 0..<m {
            for j in 0..<n {
                let want = 0.5 * (0..<k).reduce(0.0) { $0 + Double(a[i * lda + $1]) * Double(b[j * ldb + $1]) }
                #expect(abs(Double(scores[i * n + j]) - want) <= 1e-5)
            }
            for c in 0..<k {
                let want = 1 + (0..<n).reduce(0.0) { $0 + Double(w[i * ldw + $1]) * Double(b[$1 * ldb + c]) }
                #expect(abs(Double(mixed[i * k + c]) - want) <= 1e-5)
            }
        }
    }
}
