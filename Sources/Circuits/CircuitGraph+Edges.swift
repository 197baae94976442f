extension CircuitGraph {
    /// Every edge in the reference library's `Graph.edges` insertion order (spec §2.5).
    ///
    /// Mirrors `Graph.from_model`: per layer, for each upstream sender in residual order, the
    /// q/k/v edges of each head and (parallel) the edge into the layer's MLP; with a sequential
    /// residual the MLP edges follow after all head edges and include the layer's own heads;
    /// finally every sender into `logits`.
    public var edges: [Edge] {
        var result: [Edge] = []
        result.reserveCapacity(edgeCount)
        for layer in 0..<layers {
            let upstream = 1 + layer * (heads + 1)
            let mlp = receiverIndex(ofMLP: layer)
            for sender in 0..<upstream {
                for head in 0..<heads {
                    for slot in QKV.allCases {
                        result.append(Edge(sender: sender, receiver: receiverIndex(ofHead: head, layer: layer, slot: slot)))
                    }
                }
                if parallelResidual { result.append(Edge(sender: sender, receiver: mlp)) }
            }
            if !parallelResidual {
                for sender in 0..<(upstream + heads) { result.append(Edge(sender: sender, receiver: mlp)) }
            }
        }
        for sender in 0..<senderCount { result.append(Edge(sender: sender, receiver: logitsReceiverIndex)) }
        return result
    }

    /// Edge names in canonical order.
    public var edgeNames: [String] { edges.map(edgeName) }

    /// Maps each edge to its position in `edges`, as a dense [senderCount × receiverCount]
    /// table (−1 where no edge exists).
    public var edgePositionTable: [Int32] {
        var table = [Int32](repeating: -1, count: senderCount * receiverCount)
        for (position, edge) in edges.enumerated() {
            table[edge.sender * receiverCount + edge.receiver] = Int32(position)
        }
        return table
    }

    /// Reads edge scores in canonical order out of a row-major [senderCount × receiverCount] matrix.
    public func edgeVector(fromMatrix matrix: [Float]) -> [Float] {
        precondition(matrix.count == senderCount * receiverCount, "score matrix has the wrong size")
        return edges.map { matrix[$0.sender * receiverCount + $0.receiver] }
    }
}
