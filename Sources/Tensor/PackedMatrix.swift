import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A weight matrix W [rows, columns] stored once in the panel layout of `CKernels` (16 rows per
/// panel, each column's 16 values adjacent), for the products a linear layer needs, x·Wᵀ and
/// dy·W, without repacking W on every call as a general GEMM does. On CPUs with AVX2 and FMA the
/// products run in hand-written micro-kernels; elsewhere in portable loops.
///
/// `@unchecked Sendable`: the storage is written only in `init` and read-only afterwards.
public final class PackedMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// The panels: `ck_packed_count(rows, columns)` floats, 64-byte aligned.
    public let storage: UnsafeMutablePointer<Float>
    private let panelCount: Int

    /// Packs the row-major matrix at `source`.
    public init(rowMajor source: UnsafePointer<Float>, rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "negative matrix shape")
        self.rows = rows
        self.columns = columns
        panelCount = (rows + Int(CK_PANEL) - 1) / Int(CK_PANEL)
        let count = max(1, Int(ck_packed_count(rows, columns))), bytes = count * MemoryLayout<Float>.stride
        // Large matrices on 2 MiB pages where the kernel allows it (fewer TLB misses while the
        // products stream them); the advice is only a hint and may be refused.
        let huge = bytes >= Self.hugePage
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: huge ? Self.hugePage : 64)
        #if canImport(Glibc)
        if huge { _ = madvise(raw, bytes / Self.hugePage * Self.hugePage, Int32(MADV_HUGEPAGE)) }
        #endif
        storage = raw.bindMemory(to: Float.self, capacity: count)
        storage.initialize(repeating: 0, count: count)
        let panels = panelCount
        let target = SendablePointer(storage), from = SendablePointer(UnsafeMutablePointer(mutating: source))
        Parallel.forRanges(panels, chunks: rows * columns >= 1 << 20 ? ParallelKernels.threads : 1) { range in
            ck_pack_panels(from.base, columns, rows, columns, range.lowerBound, range.upperBound, target.base)
        }
    }

    /// Packs a row-major matrix held in `source` (at least rows·columns elements).
    public convenience init(rowMajor source: UnsafeBufferPointer<Float>, rows: Int, columns: Int) {
        precondition(source.count >= rows * columns, "\(source.count) elements for a [\(rows), \(columns)] matrix")
        let empty = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { empty.deallocate() }
        self.init(rowMajor: source.baseAddress ?? UnsafePointer(empty), rows: rows, columns: columns)
    }

    deinit { storage.deallocate() }

    /// Copies row r (W[r, :], `columns` floats) to `output`.
    public func copyRow(_ r: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "row \(r) outside 0..<\(rows)")
        ck_packed_row(storage, columns, r, output)
    }

    /// Row r as an array.
    public func row(_ r: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: columns) { buffer, count in
            if let base = buffer.baseAddress { copyRow(r, into: base) }
            count = columns
        }
    }

    /// Copies `count` elements of the row-major matrix starting at flat index `start` to `output`.
    public func copyElements(from start: Int, count: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(start >= 0 && count >= 0 && start + count <= rows * columns, "elements outside the matrix")
        guard count > 0, columns > 0 else { return }
        let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { row.deallocate() }
        var done = 0
        while done < count {
            let r = (start + done) / columns, c = (start + done) % columns, n = min(columns - c, count - done)
            copyRow(r, into: row)
            (output + done).update(from: row + c, count: n)
            done += n
        }
    }

    /// y = x·W[rowRange, columnRange]ᵀ (+ bias), the forward of `nn.Linear` (on a block of W):
    /// x is [m, columnRange.count] (row stride `inputStride`), y [m, rowRange.count] (row stride
    /// `outputStride`), bias [rowRange.count]. Rows of W are split among `threads` threads;
    /// `portable` forces the portable loops (tests).
    public func multiply(
        _ x: UnsafePointer<Float>, rows m: Int, inputStride: Int? = nil, bias: UnsafePointer<Float>? = nil,
        into y: UnsafeMutablePointer<Float>, outputStride: Int? = nil,
        rowRange: Range<Int>? = nil, columnRange: Range<Int>? = nil,
        threads: Int = BLAS.threadCount, portable: Bool = false
    ) {
        let (rowsUsed, columnsUsed) = block(rowRange, columnRange)
        guard m > 0, !rowsUsed.isEmpty else { return }
        let width = columnsUsed.count, ldy = outputStride ?? rowsUsed.count
        let packedInput = UnsafeMutablePointer<Float>.allocate(capacity: max(1, Int(ck_activations_count(m, width))))
        defer { packedInput.deallocate() }
        let source = SendablePointer(UnsafeMutablePointer(mutating: x)), packedTarget = SendablePointer(packedInput)
        let ldx = inputStride ?? width
        Self.packRows(m, block: Int(CK_ROWS), width: width, threads: threads) { lo, count in
            ck_pack_activations(source.base + lo * ldx, ldx, count, width, packedTarget.base + lo * width)
        }
        let panel = Int(CK_PANEL), firstPanel = rowsUsed.lowerBound / panel
        let panelsUsed = (rowsUsed.upperBound + panel - 1) / panel - firstPanel
        let parts = Self.parts(threads: threads, units: panelsUsed, work: m * rowsUsed.count * width)
        let a = SendablePointer(packedInput), out = SendablePointer(y), w = SendablePointer(storage)
        let b = bias.map { SendablePointer(UnsafeMutablePointer(mutating: $0)) }
        let k = columns, c0 = columnsUsed.lowerBound, c1 = columnsUsed.upperBound
        Parallel.forRanges(panelsUsed, chunks: parts) { range in
            let r0 = max(rowsUsed.lowerBound, (firstPanel + range.lowerBound) * panel)
            let r1 = min(rowsUsed.upperBound, (firstPanel + range.upperBound) * panel)
            let shift = r0 - rowsUsed.lowerBound
            ck_gemm_packed(m, k, c0, c1, a.base, w.base, r0, r1, b.map { $0.base + shift }, out.base + shift, ldy,
                           portable ? 1 : 0)
        }
    }

    /// dx (+)= dy·W[rowRange, columnRange], the input gradient of `nn.Linear` (on a block of W):
    /// dy is [m, rowRange.count] (row stride `gradientStride`), dx [m, columnRange.count] (row
    /// stride `outputStride`). Columns of W are split among `threads` threads.
    public func multiplyTransposed(
        _ dy: UnsafePointer<Float>, rows m: Int, gradientStride: Int? = nil,
        into dx: UnsafeMutablePointer<Float>, outputStride: Int? = nil, accumulate: Bool = false,
        rowRange: Range<Int>? = nil, columnRange: Range<Int>? = nil,
        threads: Int = BLAS.threadCount, portable: Bool = false
    ) {
        let (rowsUsed, columnsUsed) = block(rowRange, columnRange)
        guard m > 0, !columnsUsed.isEmpty else { return }
        let lddx = outputStride ?? columnsUsed.count
        let r0 = rowsUsed.lowerBound, r1 = rowsUsed.upperBound
        let packedGradient = UnsafeMutablePointer<Float>.allocate(capacity: max(1, Int(ck_gradients_count(m, r0, r1))))
        defer { packedGradient.deallocate() }
        let paddedRows = Int(ck_gradients_count(1, r0, r1)) / 16
        let source = SendablePointer(UnsafeMutablePointer(mutating: dy)), packedTarget = SendablePointer(packedGradient)
        let lddy = gradientStride ?? rowsUsed.count
        Self.packRows(m, block: 16, width: paddedRows, threads: threads) { lo, count in
            ck_pack_gradients(source.base + lo * lddy, lddy, count, r0, r1, packedTarget.base + lo * paddedRows)
        }
        let group = Int(CK_ROWS), groups = (columnsUsed.count + group - 1) / group
        let parts = Self.parts(threads: threads, units: groups, work: m * rowsUsed.count * columnsUsed.count)
        let g = SendablePointer(packedGradient), out = SendablePointer(dx), w = SendablePointer(storage)
        let k = columns
        Parallel.forRanges(groups, chunks: parts) { range in
            let c0 = columnsUsed.lowerBound + range.lowerBound * group
            let c1 = min(columnsUsed.upperBound, columnsUsed.lowerBound + range.upperBound * group)
            ck_gemm_packed_transposed(m, k, g.base, w.base, r0, r1, c0, c1, out.base + (c0 - columnsUsed.lowerBound), lddx,
                                      accumulate ? 1 : 0, portable ? 1 : 0)
        }
    }

    private static let hugePage = 2 << 20

    /// Whether the AVX2/FMA micro-kernels serve the products on this CPU.
    public static var usesVectorKernels: Bool { ck_vector_kernels() != 0 }

    /// The rows and columns of W a product uses (all by default), checked against W's shape.
    private func block(_ rowRange: Range<Int>?, _ columnRange: Range<Int>?) -> (Range<Int>, Range<Int>) {
        let rowsUsed = rowRange ?? 0..<rows, columnsUsed = columnRange ?? 0..<columns
        precondition(rowsUsed.lowerBound >= 0 && rowsUsed.upperBound <= rows, "rows \(rowsUsed) outside 0..<\(rows)")
        precondition(columnsUsed.lowerBound >= 0 && columnsUsed.upperBound <= columns, "columns \(columnsUsed) outside 0..<\(columns)")
        return (rowsUsed, columnsUsed)
    }

    /// Runs `pack(firstRow, rowCount)` over row ranges aligned to `block` rows, on `threads`
    /// threads when there are at least 2¹⁸ elements to move (a block's packed form starts at
    /// firstRow·width).
    private static func packRows(_ m: Int, block: Int, width: Int, threads: Int, _ pack: @Sendable (Int, Int) -> Void) {
        let blocks = (m + block - 1) / block
        let parts = m * width >= 1 << 18 ? max(1, min(threads, blocks)) : 1
        Parallel.forRanges(blocks, chunks: parts) { range in
            let lo = range.lowerBound * block, hi = min(m, range.upperBound * block)
            if hi > lo { pack(lo, hi - lo) }
        }
    }

    /// One part per thread for products of at least 2²⁰ multiply-adds, else one.
    private static func parts(threads: Int, units: Int, work: Int) -> Int {
        work >= 1 << 20 ? max(1, min(threads, units)) : 1
    }
}
