import Testing
import Tensor

/// The packed-panel products against a Double reference, on shapes with every kind of tail:
/// rows of W not a multiple of 16, activation rows not a multiple of 6 or 16, reductions longer
/// than one 384-step block, strided inputs and outputs.
@Suite struct PackedMatrixTests {
    struct Shape: CustomStringConvertible, Sendable {
        let m: Int, n: Int, k: Int
        var description: String { "m\(m) n\(n) k\(k)" }
    }
    static let shapes = [
        Shape(m: 1, n: 1, k: 1), Shape(m: 5, n: 17, k: 3), Shape(m: 6, n: 16, k: 16), Shape(m: 13, n: 40, k: 70),
        Shape(m: 16, n: 33, k: 385), Shape(m: 128, n: 96, k: 800), Shape(m: 8, n: 250, k: 64), Shape(m: 37, n: 1031, k: 130),
    ]

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
    }

    @Test(arguments: shapes, [false, true])
    func forwardMatchesReference(_ s: Shape, portable: Bool) {
        let ldx = s.k + 3, ldy = s.n + 5
        let x = Self.values(s.m * ldx, seed: 1), w = Self.values(s.n * s.k, seed: 2), bias = Self.values(s.n, seed: 3)
        let packed = w.withUnsafeBufferPointer { PackedMatrix(rowMajor: $0.baseAddress!, rows: s.n, columns: s.k) }
        for withBias in [false, true] {
            var y = [Float](repeating: 7, count: s.m * ldy)
            x.withUnsafeBufferPointer { xp in
                bias.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        packed.multiply(xp.baseAddress!, rows: s.m, inputStride: ldx, bias: withBias ? bp.baseAddress! : nil,
                                        into: yp.baseAddress!, outputStride: ldy, threads: 2, portable: portable)
                    }
                }
            }
            var worst: Double = 0
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var expected: Double = withBias ? Double(bias[j]) : 0
                    for c in 0..<s.k { expected += Double(x[i * ldx + c]) * Double(w[j * s.k + c]) }
                    worst = max(worst, abs(expected - Double(y[i * ldy + j])))
                }
                for j in s.n..<ldy { #expect(y[i * ldy + j] == 7, "padding column \(j) written") }
            }
            #expect(worst <= 1e-5 * Double(s.k).squareRoot() + 1e-6, "\(s) bias \(withBias): max error \(worst)")
        }
    }

    @Test(arguments: shapes, [false, true])
    func transposedMatchesReference(_ s: Shape, portable: Bool) {
        let lddy = s.n + 2, lddx = s.k + 4
        let dy = Self.values(s.m * lddy, seed: 4), w = Self.values(s.n * s.k, seed: 5), start = Self.values(s.m * lddx, seed: 6)
        let packed = w.withUnsafeBufferPointer { PackedMatrix(rowMajor: $0.baseAddress!, rows: s.n, columns: s.k) }
        for accumulate in [false, true] {
            var dx = start
            dy.withUnsafeBufferPointer { g in
                dx.withUnsafeMutableBufferPointer { out in
                    packed.multiplyTransposed(g.baseAddress!, rows: s.m, gradientStride: lddy, into: out.baseAddress!,
                                              outputStride: lddx, accumulate: accumulate, threads: 2, portable: portable)
                }
            }
            var worst: Double = 0
            for i in 0..<s.m {
                for c in 0..<s.k {
                    var expected: Double = accumulate ? Double(start[i * lddx + c]) : 0
                    for r in 0..<s.n { expected += Double(dy[i * lddy + r]) * Double(w[r * s.k + c]) }
                    worst = max(worst, abs(expected - Double(dx[i * lddx + c])))
                }
                for c in s.k..<lddx { #expect(dx[i * lddx + c] == start[i * lddx + c], "padding column \(c) written") }
            }
            #expect(worst <= 1e-5 * Double(s.n).squareRoot() + 1e-6, "\(s) accumulate \(accumulate): max error \(worst)")
        }
    }

    /// Blocks of W: unaligned row and column ranges in both products.
    @Test(arguments: [(3..<37, 5..<120), (16..<48, 0..<130), (0..<50, 129..<130), (20..<21, 7..<99)], [false, true])
    func blocksMatchReference(_ ranges: (Range<Int>, Range<Int>), portable: Bool) {
        let (rowRange, columnRange) = ranges
        let n = 50, k = 130, m = 9
        let w = Self.values(n * k, seed: 8)
        let packed = w.withUnsafeBufferPointer { PackedMatrix(rowMajor: $0.baseAddress!, rows: n, columns: k) }
        let x = Self.values(m * columnRange.count, seed: 9), bias = Self.values(rowRange.count, seed: 10)
        var y = [Float](repeating: 0, count: m * rowRange.count)
        x.withUnsafeBufferPointer { xp in
            bias.withUnsafeBufferPointer { bp in
                y.withUnsafeMutableBufferPointer { yp in
                    packed.multiply(xp.baseAddress!, rows: m, bias: bp.baseAddress!, into: yp.baseAddress!,
                                    rowRange: rowRange, columnRange: columnRange, threads: 2, portable: portable)
                }
            }
        }
        let dy = Self.values(m * rowRange.count, seed: 11)
        var dx = [Float](repeating: 0, count: m * columnRange.count)
        dy.withUnsafeBufferPointer { g in
            dx.withUnsafeMutableBufferPointer { out in
                packed.multiplyTransposed(g.baseAddress!, rows: m, into: out.baseAddress!, rowRange: rowRange,
                                          columnRange: columnRange, threads: 2, portable: portable)
            }
        }
        var worst: Double = 0
        for i in 0..<m {
            for (t, r) in rowRange.enumerated() {
                var expected = Double(bias[t])
                for (u, c) in columnRange.enumerated() { expected += Double(x[i * columnRange.count + u]) * Double(w[r * k + c]) }
                worst = max(worst, abs(expected - Double(y[i * rowRange.count + t])))
            }
            for (u, c) in columnRange.enumerated() {
                var expected: Double = 0
                for (t, r) in rowRange.enumerated() { expected += Double(dy[i * rowRange.count + t]) * Double(w[r * k + c]) }
                worst = max(worst, abs(expected - Double(dx[i * columnRange.count + u])))
            }
        }
        #expect(worst <= 1e-4, "rows \(rowRange) columns \(columnRange): max error \(worst)")
    }

    @Test func rowsRoundTrip() {
        let w = Self.values(37 * 11, seed: 7)
        let packed = w.withUnsafeBufferPointer { PackedMatrix(rowMajor: $0.baseAddress!, rows: 37, columns: 11) }
        for r in [0, 15, 16, 36] { #expect(packed.row(r) == Array(w[(r * 11)..<(r * 11 + 11)])) }
        var whole = [Float](repeating: 0, count: w.count)
        whole.withUnsafeMutableBufferPointer { packed.copyElements(from: 0, count: w.count, into: $0.baseAddress!) }
        #expect(whole == w)
        var middle = [Float](repeating: 0, count: 30)
        middle.withUnsafeMutableBufferPointer { packed.copyElements(from: 20, count: 30, into: $0.baseAddress!) }
        #expect(middle == Array(w[20..<50]))
    }
}
