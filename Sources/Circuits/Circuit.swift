/// A circuit: a set of edges of a `CircuitGraph` plus the sender nodes they keep alive.
///
/// Masks are in canonical order: `edges[i]` is `graph.edges[i]`, `nodes[s]` is sender `s`
/// (`logits` is always in and not counted, as in the reference's `count_included_nodes`).
public struct Circuit: Sendable, Equatable {
    public let graph: CircuitGraph
    public var edges: [Bool]
    public var nodes: [Bool]

    /// A circuit from an edge mask; nodes are derived (a sender is in when it has an in-circuit
    /// outgoing edge). Call `pruned()` to apply the reference's pruning.
    public init(graph: CircuitGraph, edges: [Bool]) {
        precondition(edges.count == graph.edgeCount, "edge mask has \(edges.count) entries, graph has \(graph.edgeCount)")
        self.graph = graph
        self.edges = edges
        self.nodes = [Bool](repeating: false, count: graph.senderCount)
        for (edge, isIn) in zip(graph.edges, edges) where isIn { nodes[edge.sender] = true }
    }

    /// Every real edge (the full model).
    public static func full(_ graph: CircuitGraph) -> Circuit {
        Circuit(graph: graph, edges: [Bool](repeating: true, count: graph.edgeCount))
    }

    /// No edge (the corrupted run).
    public static func empty(_ graph: CircuitGraph) -> Circuit {
        Circuit(graph: graph, edges: [Bool](repeating: false, count: graph.edgeCount))
    }

    /// Number of in-circuit edges.
    public var edgeCount: Int { edges.reduce(0) { $0 + ($1 ? 1 : 0) } }
    /// Number of in-circuit sender nodes (logits excluded).
    public var nodeCount: Int { nodes.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// The edge mask as a dense row-major [senderCount × receiverCount] matrix.
    public var edgeMatrix: [Bool] {
        var matrix = [Bool](repeating: false, count: graph.senderCount * graph.receiverCount)
        for (edge, isIn) in zip(graph.edges, edges) where isIn {
            matrix[edge.sender * graph.receiverCount + edge.receiver] = true
        }
        return matrix
    }

    /// Names of the in-circuit edges, in canonical order.
    public var edgeNames: [String] {
        zip(graph.edges, edges).compactMap { $1 ? graph.edgeName($0) : nil }
    }
}
