extension Circuit {
    /// The reference's fixed `Graph.prune()` (EAP-IG `7754a08`/`55a2be2`, spec §5.2), iterated to
    /// a fixed point: a sender stays only if it has an in-circuit outgoing edge and (unless it
    /// is `input`) an in-circuit incoming edge on any of its receiver slots; edges whose parent or
    /// child node is out are dropped. `logits` always counts as in.
    public func pruned() -> Circuit {
        let allEdges = graph.edges
        var edges = self.edges
        var nodes = [Bool](repeating: false, count: graph.senderCount)
        let owner: [Int?] = (0..<graph.receiverCount).map(graph.sender(ofReceiver:))
        while true {
            var hasOutgoing = [Bool](repeating: false, count: graph.senderCount)
            var hasIncoming = [Bool](repeating: false, count: graph.senderCount)
            hasIncoming[0] = true
            for (edge, isIn) in zip(allEdges, edges) where isIn {
                hasOutgoing[edge.sender] = true
                if let child = owner[edge.receiver] { hasIncoming[child] = true }
            }
            let newNodes = (0..<graph.senderCount).map { hasOutgoing[$0] && hasIncoming[$0] }
            var changed = newNodes != nodes
            nodes = newNodes
            for (position, edge) in allEdges.enumerated() where edges[position] {
                let childIn = owner[edge.receiver].map { nodes[$0] } ?? true
                if !nodes[edge.sender] || !childIn {
                    edges[position] = false
                    changed = true
                }
            }
            if !changed { break }
        }
        var result = self
        result.edges = edges
        result.nodes = nodes
        return result
    }
}
