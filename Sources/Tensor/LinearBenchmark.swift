import Foundation

/// Times one linear layer's products on random data, OpenBLAS against `PackedMatrix`: the forward
/// y = x·Wᵀ and the input gradient dx = dy·W, W [n, k], x [m, k].
public enum LinearBenchmark {
    /// One measured product: median seconds of each implementation.
    public struct Measurement: Sendable {
        public let name: String
        public let m: Int, n: Int, k: Int
        public let transposed: Bool
        public let blasSeconds: Double
        public let packedSeconds: Double
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
        public var blasGflops: Double { flops / blasSeconds / 1e9 }
        public var packedGflops: Double { flops / packedSeconds / 1e9 }
        /// How many times faster the packed product is.
        public var speedup: Double { blasSeconds / packedSeconds }
    }

    /// Measures both products of W [n, k] at m rows, alternating the two implementations so that
    /// drifts of the machine's speed hit both, for about `budgetSeconds` (at least 5 pairs each).
    public static func measure(name: String, m: Int, n: Int, k: Int, threads: Int, budgetSeconds: Double) -> [Measurement] {
        let weights = FloatBuffer(count: n * k), x = FloatBuffer(count: m * max(n, k)), y = FloatBuffer(count: m * max(n, k))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for buffer in [weights, x] {
            for i in 0..<buffer.count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buffer.pointer[i] = Float(state >> 40) / Float(1 << 24) - 0.5
            }
        }
        let packed = PackedMatrix(rowMajor: weights.pointer, rows: n, columns: k)
        let forward = timePair(budgetSeconds: budgetSeconds / 2, {
            BLAS.sgemmSplittingColumns(.none, .transposed, m: m, n: n, k: k, a: x.pointer, lda: k,
                                       b: weights.pointer, ldb: k, c: y.pointer, ldc: n)
        }, {
            packed.multiply(x.pointer, rows: m, into: y.pointer, threads: threads)
        })
        let backward = timePair(budgetSeconds: budgetSeconds / 2, {
            BLAS.sgemmSplittingColumns(.none, .none, m: m, n: k, k: n, a: x.pointer, lda: n,
                                       b: weights.pointer, ldb: k, c: y.pointer, ldc: k)
        }, {
            packed.multiplyTransposed(x.pointer, rows: m, into: y.pointer, threads: threads)
        })
        return [
            Measurement(name: name, m: m, n: n, k: k, transposed: false, blasSeconds: forward.0, packedSeconds: forward.1),
            Measurement(name: name, m: m, n: n, k: k, transposed: true, blasSeconds: backward.0, packedSeconds: backward.1),
        ]
    }

    /// Medians of two alternating workloads, after one warm-up run of each.
    static func timePair(budgetSeconds: Double, _ first: () -> Void, _ second: () -> Void) -> (Double, Double) {
        func time(_ body: () -> Void) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        first()
        second()
        var a: [Double] = [], b: [Double] = []
        var spent = 0.0
        while a.count < 5 || (spent < budgetSeconds && a.count < 500) {
            let ta = time(first), tb = time(second)
            a.append(ta)
            b.append(tb)
            spent += ta + tb
        }
        return (a.sorted()[a.count / 2], b.sorted()[b.count / 2])
    }
}
