import Testing
@testable import Tensor

/// Naive reference: C[i,j] = Σ_p op(A)[i,p]·op(B)[p,j], accumulated in Double.
private func naiveProduct(_ a: Tensor, _ ta: Transpose, _ b: Tensor, _ tb: Transpose) -> [Double] {
    let (m, k) = ta == .none ? (a.shape[0], a.shape[1]) : (a.shape[1], a.shape[0])
    let n = tb == .none ? b.shape[1] : b.shape[0]
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = ta == .none ? a[i, p] : a[p, i]
                let bv = tb == .none ? b[p, j] : b[j, p]
                sum += Double(av) * Double(bv)
            }
            c[i * n + j] = sum
        }
    }
    return c
}

private struct SplitMix {
    var state: UInt64
    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24) * 2 - 1
    }
    mutating func tensor(_ shape: [Int]) -> Tensor {
        var t = Tensor(zeros: shape)
        for i in 0..<t.count { t.storage[i] = next() }
        return t
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int((next() + 1) / 2 * Float(range.count - 1) + 0.5)
    }
}

@Suite struct GemmTests {
    static let transposes: [(Transpose, Transpose)] = [
        (.none, .none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed),
    ]

    @Test(arguments: 0..<4)
    func matmulMatchesNaiveLoopForEveryTransposeCombination(combination: Int) {
        let (ta, tb) = Self.transposes[combination]
        var rng = SplitMix(state: UInt64(combination + 17))
        for _ in 0..<12 {
            let m = rng.int(1...37), n = rng.int(1...41), k = rng.int(1...53)
            let a = rng.tensor(ta == .none ? [m, k] : [k, m])
            let b = rng.tensor(tb == .none ? [k, n] : [n, k])
            let c = BLAS.matmul(a, ta, b, tb)
            #expect(c.shape == [m, n])
            let expected = naiveProduct(a, ta, b, tb)
            let maxError = zip(c.storage, expected).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(maxError < 1e-4 * Double(k), "m=\(m) n=\(n) k=\(k) \(ta)/\(tb): error \(maxError)")
        }
    }

    @Test func batchedMatmulMatchesPerSliceProducts() {
        var rng = SplitMix(state: 99)
        let a = rng.tensor([3, 5, 7]), b = rng.tensor([3, 4, 7])
        let c = BLAS.batchedMatmul(a, .none, b, .transposed)
        #expect(c.shape == [3, 5, 4])
        for i in 0..<3 {
            var ai = Tensor(zeros: [5, 7]), bi = Tensor(zeros: [4, 7])
            for r in 0..<5 { for s in 0..<7 { ai[r, s] = a[i, r, s] } }
            for r in 0..<4 { for s in 0..<7 { bi[r, s] = b[i, r, s] } }
            let expected = naiveProduct(ai, .none, bi, .transposed)
            for r in 0..<5 { for s in 0..<4 { #expect(abs(Double(c[i, r, s]) - expected[r * 4 + s]) < 1e-4) } }
        }
    }

    @Test func zeroInnerDimensionScalesByBeta() {
        var c: [Float] = [1, 2, 3, 4]
        let empty: [Float] = [0]
        empty.withUnsafeBufferPointer { p in
            c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(.none, .none, m: 2, n: 2, k: 0, a: p.baseAddress!, lda: 1,
                           b: p.baseAddress!, ldb: 2, beta: 0, c: pc.baseAddress!, ldc: 2)
            }
        }
        #expect(c == [0, 0, 0, 0])
    }

    @Test func threadCountIsControllable() {
        let before = BLAS.threadCount
        BLAS.setThreadCount(1)
        #expect(BLAS.threadCount == 1)
        BLAS.setThreadCount(before)
        #expect(!BLAS.coreName.isEmpty)
    }

    @Test func reshapeRejectsWrongElementCount() throws {
        let t = Tensor(zeros: [2, 3])
        #expect(throws: TensorError.self) { try t.reshaped([4, 2]) }
        #expect(try t.reshaped([3, 2]).shape == [3, 2])
    }
}
