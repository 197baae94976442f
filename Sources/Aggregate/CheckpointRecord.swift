import Results

/// What the aggregate keeps of one unit result: the behaviour, the circuit as in-circuit edge
/// indices with their scores and endpoint names, and the head scores. Small, so a series of
/// 154 checkpoints of a 2.8b model fits in memory.
public struct CheckpointRecord: Sendable, Equatable {
    public var revision: String
    public var step: Int?
    public var tokens: Int?
    public var behaviourMetric: String?
    public var behaviourMean: Double?
    public var accuracy: Double?
    public var fullMetric: Double?
    public var emptyMetric: Double?
    /// Edges in the attribution graph (the circuits' index space), nil without attribution.
    public var graphEdgeCount: Int?
    public var circuit: CircuitSnapshot?
    public var headScores: [String: HeadScores]

    public init(revision: String, step: Int? = nil, tokens: Int? = nil, behaviourMetric: String? = nil,
                behaviourMean: Double? = nil, accuracy: Double? = nil, fullMetric: Double? = nil,
                emptyMetric: Double? = nil, graphEdgeCount: Int? = nil, circuit: CircuitSnapshot? = nil,
                headScores: [String: HeadScores] = [:]) {
        self.revision = revision
        self.step = step
        self.tokens = tokens
        self.behaviourMetric = behaviourMetric
        self.behaviourMean = behaviourMean
        self.accuracy = accuracy
        self.fullMetric = fullMetric
        self.emptyMetric = emptyMetric
        self.graphEdgeCount = graphEdgeCount
        self.circuit = circuit
        self.headScores = headScores
    }
}

/// One checkpoint's circuit: the minimal faithful circuit when the unit searched for one,
/// else its largest top-n circuit.
public struct CircuitSnapshot: Sendable, Equatable {
    /// Sorted indices of the in-circuit edges in the canonical edge order.
    public var edges: [Int]
    /// Their EAP-IG scores, aligned with `edges`.
    public var scores: [Float]
    /// Their sender and receiver node names (`a3.h1`, `m2`, `input`, `logits`; receivers
    /// without their `<q>`/`<k>`/`<v>` suffix), aligned with `edges`.
    public var senders: [String]
    public var receivers: [String]
    /// Faithfulness of the minimal circuit, nil for a top-n circuit.
    public var faithfulness: Double?
    /// "minimal" or "top-<n>".
    public var source: String

    public init(edges: [Int], scores: [Float], senders: [String], receivers: [String],
                faithfulness: Double?, source: String) {
        self.edges = edges
        self.scores = scores
        self.senders = senders
        self.receivers = receivers
        self.faithfulness = faithfulness
        self.source = source
    }

    /// The circuit's nodes: every sender and receiver of an in-circuit edge.
    public var nodes: Set<String> { Set(senders).union(receivers) }

    /// Attention heads that both send and receive an in-circuit edge (spec/paper-pipeline.md
    /// §5.6), as (layer, head).
    public var circuitHeads: Set<HeadIndex> {
        Set(senders.compactMap(HeadIndex.init(node:))).intersection(receivers.compactMap(HeadIndex.init(node:)))
    }
}

/// An attention head, (layer, head).
public struct HeadIndex: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var layer: Int
    public var head: Int

    public init(layer: Int, head: Int) {
        self.layer = layer
        self.head = head
    }

    /// Parses an EAP-IG node name `a{layer}.h{head}`; nil for any other node.
    public init?(node: String) {
        guard node.hasPrefix("a"), let dot = node.firstIndex(of: ".") else { return nil }
        let layerText = node[node.index(after: node.startIndex)..<dot]
        let rest = node[node.index(after: dot)...]
        guard rest.hasPrefix("h"), let layer = Int(layerText), let head = Int(rest.dropFirst()) else { return nil }
        self.init(layer: layer, head: head)
    }

    public static func < (a: HeadIndex, b: HeadIndex) -> Bool { (a.layer, a.head) < (b.layer, b.head) }
    public var description: String { "\(layer).\(head)" }
}

extension CheckpointRecord {
    /// Keeps what the aggregate needs of a unit result.
    public init(_ result: UnitResult) {
        let identity = result.identity
        self.init(revision: identity.revision, step: identity.trainingStep, tokens: identity.tokensSeen,
                  behaviourMetric: result.behaviour?.metric, behaviourMean: result.behaviour?.mean,
                  accuracy: result.behaviour?.accuracy, fullMetric: result.baseline?.fullMetric,
                  emptyMetric: result.baseline?.emptyMetric, graphEdgeCount: result.attribution?.scores.count,
                  circuit: CircuitSnapshot(result), headScores: result.headScores)
    }
}

extension CircuitSnapshot {
    /// The minimal circuit of `result`, else its largest top-n circuit; nil without either.
    init?(_ result: UnitResult) {
        guard let attribution = result.attribution else { return nil }
        let mask: [Bool], faithfulness: Double?, source: String
        if let minimal = result.minimalCircuit {
            (mask, faithfulness, source) = (minimal.mask, minimal.faithfulness, "minimal")
        } else if let largest = result.circuits.max(by: { $0.requestedEdges < $1.requestedEdges }) {
            (mask, faithfulness, source) = (largest.mask, nil, "top-\(largest.requestedEdges)")
        } else {
            return nil
        }
        var edges: [Int] = [], scores: [Float] = [], senders: [String] = [], receivers: [String] = []
        for (index, inCircuit) in mask.enumerated() where inCircuit {
            let (sender, receiver) = Self.endpoints(of: attribution.edgeNames[index])
            edges.append(index)
            scores.append(attribution.scores[index])
            senders.append(sender)
            receivers.append(receiver)
        }
        self.init(edges: edges, scores: scores, senders: senders, receivers: receivers,
                  faithfulness: faithfulness, source: source)
    }

    /// "a1.h2->a4.h0<v>" → ("a1.h2", "a4.h0").
    static func endpoints(of edgeName: String) -> (sender: String, receiver: String) {
        guard let arrow = edgeName.range(of: "->") else { return (edgeName, "") }
        var receiver = edgeName[arrow.upperBound...]
        if receiver.hasSuffix(">"), let open = receiver.lastIndex(of: "<") { receiver = receiver[..<open] }
        return (String(edgeName[..<arrow.lowerBound]), String(receiver))
    }
}
