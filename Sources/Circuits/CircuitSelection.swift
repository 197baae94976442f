/// How a circuit of n edges is chosen from edge scores (spec §5.1).
public enum CircuitSelection: String, Sendable, Codable, CaseIterable {
    /// `Graph.apply_greedy(n, absolute=True)`: grow from `logits`, always adding the best-scoring
    /// edge whose child is already in the circuit. The Tigges et al. pipeline's selector.
    case greedy
    /// `Graph.apply_topn(n, absolute=True)`: the n best-scoring edges anywhere.
    case topN = "topn"
}

extension CircuitGraph {
    /// Selects a circuit of `n` requested edges from scores in canonical edge order, then prunes
    /// it as the reference does (so the final count can be below `n`).
    ///
    /// Ties in |score| are broken by canonical edge order (the reference's order for exact ties
    /// is hash- or sort-dependent, spec §6.18).
    /// - Parameters:
    ///   - absolute: rank by |score| (the reference default) rather than by signed score.
    public func selectCircuit(
        _ selection: CircuitSelection, edgeCount n: Int, scores: [Float], absolute: Bool = true
    ) -> Circuit {
        precondition(scores.count == edgeCount, "scores have \(scores.count) entries, graph has \(edgeCount) edges")
        let key: [Float] = absolute ? scores.map { abs($0) } : scores
        let requested = max(0, min(n, edgeCount))
        switch selection {
        case .topN: return topN(requested, key: key).pruned()
        case .greedy: return greedy(requested, key: key).pruned()
        }
    }

    private func ranksBefore(_ key: [Float]) -> (Int, Int) -> Bool {
        { a, b in key[a] != key[b] ? key[a] > key[b] : a < b }
    }

    private func topN(_ n: Int, key: [Float]) -> Circuit {
        let order = Array(0..<edgeCount).sorted(by: ranksBefore(key))
        var mask = [Bool](repeating: false, count: edgeCount)
        for position in order.prefix(n) { mask[position] = true }
        return Circuit(graph: self, edges: mask)
    }

    private func greedy(_ n: Int, key: [Float]) -> Circuit {
        // Incoming edges of each node (by the sender that owns the receiving slot; logits = -1).
        var incoming: [Int: [Int]] = [:]
        for (position, edge) in edges.enumerated() {
            incoming[sender(ofReceiver: edge.receiver) ?? -1, default: []].append(position)
        }
        var frontier = Heap(ranksBefore: ranksBefore(key))
        for position in incoming[-1] ?? [] { frontier.insert(position) }
        var nodeIn = [Bool](repeating: false, count: senderCount)
        var mask = [Bool](repeating: false, count: edgeCount)
        var remaining = n
        let allEdges = edges
        while remaining > 0, let best = frontier.popFirst() {
            remaining -= 1
            mask[best] = true
            let parent = allEdges[best].sender
            if !nodeIn[parent] {
                nodeIn[parent] = true
                for position in incoming[parent] ?? [] { frontier.insert(position) }
            }
        }
        return Circuit(graph: self, edges: mask)
    }
}

/// A binary heap of edge positions ordered by a strict "comes first" predicate.
struct Heap {
    private var items: [Int] = []
    private let ranksBefore: (Int, Int) -> Bool

    init(ranksBefore: @escaping (Int, Int) -> Bool) { self.ranksBefore = ranksBefore }

    mutating func insert(_ item: Int) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard ranksBefore(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count, ranksBefore(items[left], items[best]) { best = left }
                if right < items.count, ranksBefore(items[right], items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return first
    }
}
