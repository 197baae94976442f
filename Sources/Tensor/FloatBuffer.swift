/// A fixed-size, zero-initialised Float32 buffer with a stable address, for hot loops that
/// must not allocate or trigger copy-on-write checks.
///
/// `@unchecked Sendable`: the buffer is handed between threads only by its owner (a forward
/// trace or workspace), which never mutates it concurrently from two places; the parallel
/// kernels write disjoint row ranges.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Sets the first `count` elements to zero.
    public func zero(first count: Int) {
        precondition(count <= self.count, "zeroing past the end of a buffer")
        pointer.update(repeating: 0, count: count)
    }

    /// The elements as an array (cold paths, tests).
    public func array(count: Int? = nil, offset: Int = 0) -> [Float] {
        let n = count ?? (self.count - offset)
        precondition(offset + n <= self.count, "reading past the end of a buffer")
        return Array(UnsafeBufferPointer(start: pointer + offset, count: n))
    }
}

/// A raw pointer that may cross into `DispatchQueue.concurrentPerform` closures.
///
/// `@unchecked Sendable`: used only for kernels whose iterations write disjoint ranges.
public struct SendablePointer: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
}
