import Foundation

/// Measures `cblas_sgemm` throughput on square matrices: the physical anchor every numeric
/// benchmark compares against.
public enum GemmBenchmark {
    /// One measured size.
    public struct Measurement: Sendable {
        public let size: Int
        public let repetitions: Int
        public let medianSeconds: Double
        public var gflops: Double { 2 * pow(Double(size), 3) / medianSeconds / 1e9 }
    }

    /// Times C = A·B for an n×n problem, warming up once and then repeating until about
    /// `budgetSeconds` have passed (at least 3 repetitions); returns the median time.
    public static func measure(size n: Int, budgetSeconds: Double = 1.0) -> Measurement {
        var a = Tensor(zeros: [n, n]), b = Tensor(zeros: [n, n]), c = Tensor(zeros: [n, n])
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<(n * n) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            a.storage[i] = Float(state >> 40) / Float(1 << 24) - 0.5
            b.storage[i] = Float((state >> 16) & 0xFFFFFF) / Float(1 << 24) - 0.5
        }
        func run() -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            a.storage.withUnsafeBufferPointer { pa in
                b.storage.withUnsafeBufferPointer { pb in
                    c.storage.withUnsafeMutableBufferPointer { pc in
                        BLAS.sgemm(.none, .none, m: n, n: n, k: n,
                                   a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                                   c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        _ = run()
        var times: [Double] = []
        var spent = 0.0
        while times.count < 3 || (spent < budgetSeconds && times.count < 50) {
            let t = run()
            times.append(t)
            spent += t
        }
        times.sort()
        return Measurement(size: n, repetitions: times.count, medianSeconds: times[times.count / 2])
    }
}
