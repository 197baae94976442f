/// A contiguous, row-major Float32 tensor.
///
/// Value semantics through `ContiguousArray` copy-on-write: passing a tensor around never
/// copies its storage until somebody mutates a shared copy.
public struct Tensor: Sendable, Equatable {
    /// Extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// Elements in row-major order; `storage.count == shape.product`.
    public var storage: ContiguousArray<Float>

    /// A zero-filled tensor of the given shape.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")
        self.shape = shape
        self.storage = ContiguousArray(repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.shape = shape
        self.storage = ContiguousArray(repeating: value, count: shape.reduce(1, *))
    }

    /// Wraps existing elements; throws if their count does not match the shape.
    public init<C: Collection>(shape: [Int], elements: C) throws(TensorError) where C.Element == Float {
        let expected = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), elements.count == expected else {
            throw .shapeMismatch(expected: shape, elementCount: elements.count)
        }
        self.shape = shape
        self.storage = ContiguousArray(elements)
    }

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Number of axes.
    @inlinable public var rank: Int { shape.count }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Reinterprets the same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        guard newShape.reduce(1, *) == count, newShape.allSatisfy({ $0 >= 0 }) else {
            throw .shapeMismatch(expected: newShape, elementCount: count)
        }
        var copy = self
        copy.shape = newShape
        return copy
    }

    /// Element at a multi-index (bounds-checked; for tests and cold paths).
    public subscript(_ index: Int...) -> Float {
        get { storage[flatIndex(index)] }
        set { storage[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index rank \(index.count) ≠ tensor rank \(shape.count)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "index \(i) out of range for axis \(axis) of \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }
}

/// Errors from tensor construction and reshaping.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(expected: [Int], elementCount: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(shape, count):
            "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(count)"
        }
    }
}
