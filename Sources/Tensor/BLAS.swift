import CBLAS
import Dispatch

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable, CaseIterable {
    case none, transposed

    @usableFromInline var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// OpenBLAS single-precision GEMM and library controls.
///
/// Mirrors `cblas_sgemm` (row-major): C ← α·op(A)·op(B) + β·C with op(A) [m,k], op(B) [k,n].
public enum BLAS {
    /// Row-major sgemm on raw pointers. Leading dimensions are in elements.
    @inlinable
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // OpenBLAS leaves C untouched for k = 0; honour beta ourselves.
            for row in 0..<m { for col in 0..<n { c[row * ldc + col] *= beta } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `sgemm` with C's columns split into one contiguous range per OpenBLAS thread, each range
    /// computed by a single-threaded OpenBLAS call on its own thread (then the thread count is
    /// restored). For 128-row products this beats OpenBLAS's own threading, whose idle workers
    /// also spin against the element-wise kernels' threads; the model's weight products now use
    /// `PackedMatrix`, and this serves as their OpenBLAS baseline in `bench linear`. Small problems, and a
    /// thread count of 1, go straight to `sgemm`. The thread count is process-wide: concurrent
    /// callers stay correct and at worst run a split with OpenBLAS's own threads too.
    public static func sgemmSplittingColumns(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let threads = threadCount
        guard threads > 1, n >= 64 * threads, m * n * k >= 1 << 22 else {
            sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c, ldc: ldc)
            return
        }
        let pa = SendablePointer(UnsafeMutablePointer(mutating: a)), pb = SendablePointer(UnsafeMutablePointer(mutating: b))
        let pc = SendablePointer(c)
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(threads)) }
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            // Ranges aligned to 16 columns (the OpenBLAS kernels' unroll).
            let lo = n * part / threads / 16 * 16, hi = part == threads - 1 ? n : n * (part + 1) / threads / 16 * 16
            guard hi > lo else { return }
            let columns = transB == .none ? pb.base + lo : pb.base + lo * ldb
            sgemm(transA, transB, m: m, n: hi - lo, k: k, alpha: alpha, a: pa.base, lda: lda, b: columns, ldb: ldb,
                  beta: beta, c: pc.base + lo, ldc: ldc)
        }
    }

    /// Matrix product of two rank-2 tensors with optional transposes: op(a)·op(b).
    public static func matmul(
        _ a: Tensor, _ transA: Transpose = .none,
        _ b: Tensor, _ transB: Transpose = .none
    ) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs rank-2 tensors")
        let (m, k) = transA == .none ? (a.shape[0], a.shape[1]) : (a.shape[1], a.shape[0])
        let (kb, n) = transB == .none ? (b.shape[0], b.shape[1]) : (b.shape[1], b.shape[0])
        precondition(k == kb, "inner dimensions differ: \(a.shape) vs \(b.shape)")
        var c = Tensor(zeros: [m, n])
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    sgemm(transA, transB, m: m, n: n, k: k,
                          a: pa.baseAddress!, lda: a.shape[1],
                          b: pb.baseAddress!, ldb: b.shape[1],
                          c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    /// Batched product: for each i, C[i] = op(A[i])·op(B[i]) on rank-3 tensors.
    public static func batchedMatmul(
        _ a: Tensor, _ transA: Transpose = .none,
        _ b: Tensor, _ transB: Transpose = .none
    ) -> Tensor {
        precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0], "batched matmul needs [n,·,·] tensors")
        let batch = a.shape[0]
        let (m, k) = transA == .none ? (a.shape[1], a.shape[2]) : (a.shape[2], a.shape[1])
        let (kb, n) = transB == .none ? (b.shape[1], b.shape[2]) : (b.shape[2], b.shape[1])
        precondition(k == kb, "inner dimensions differ: \(a.shape) vs \(b.shape)")
        var c = Tensor(zeros: [batch, m, n])
        let aStride = a.shape[1] * a.shape[2], bStride = b.shape[1] * b.shape[2], cStride = m * n
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    for i in 0..<batch {
                        sgemm(transA, transB, m: m, n: n, k: k,
                              a: pa.baseAddress! + i * aStride, lda: a.shape[2],
                              b: pb.baseAddress! + i * bStride, ldb: b.shape[2],
                              c: pc.baseAddress! + i * cStride, ldc: n)
                    }
                }
            }
        }
        return c
    }

    /// Sets the number of threads OpenBLAS uses for every following call.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// The CPU kernel OpenBLAS selected at load time (for example "Haswell", "SkylakeX").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS build configuration string.
    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config)
    }
}
