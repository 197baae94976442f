/// A binary min-heap. The scheduler uses it with lazy deletion: entries may go stale and
/// are checked against the current state when they reach the top.
struct MinHeap<Element: Comparable & Sendable>: Sendable {
    private(set) var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var min: Element? { items.first }

    init() {}

    /// Heapifies in O(n).
    init(_ elements: [Element]) {
        items = elements
        guard items.count > 1 else { return }
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        if !items.isEmpty { siftDown(0) }
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, items[l] < items[m] { m = l }
            if r < n, items[r] < items[m] { m = r }
            if m == i { return }
            items.swapAt(i, m)
            i = m
        }
    }
}

/// A heap entry ordered by `key`, then `index`.
struct Keyed<Key: Comparable & Sendable>: Comparable, Sendable {
    var key: Key
    var index: Int

    static func < (a: Keyed, b: Keyed) -> Bool { a.key < b.key || (a.key == b.key && a.index < b.index) }
}
