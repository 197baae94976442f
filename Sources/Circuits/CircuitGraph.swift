/// The EAP-IG computational graph of a GPT-NeoX model (spec/eap-ig.md §2), with node and
/// edge naming, order and matrix indices identical to the reference library (`hannamw/EAP-IG`
/// `graph.py`).
///
/// Senders ("forward" index): `input` → 0, `a{l}.h{h}` → 1 + l(H+1) + h, `m{l}` → 1 + l(H+1) + H.
/// Receivers ("backward" index): `a{l}.h{h}<q|k|v>` → l(3H+1) + {0,H,2H} + h, `m{l}` → l(3H+1) + 3H,
/// `logits` → nBackward − 1. A receiver's upstream senders are exactly `0..<previousSenderCount`.
public struct CircuitGraph: Sendable, Equatable, Hashable {
    public let layers: Int
    public let heads: Int
    /// Parallel attention/MLP residual (all Pythia). Sequential adds edges `a{l}.h* → m{l}`.
    public let parallelResidual: Bool

    public init(layers: Int, heads: Int, parallelResidual: Bool) {
        precondition(layers >= 1 && heads >= 1, "graph needs at least one layer and head")
        self.layers = layers
        self.heads = heads
        self.parallelResidual = parallelResidual
    }

    // MARK: Sizes

    /// Number of sender nodes: `input`, every head, every MLP.
    public var senderCount: Int { 1 + layers * (heads + 1) }
    /// Number of receiver slots: q/k/v of every head, every MLP input, and `logits`.
    public var receiverCount: Int { layers * (3 * heads + 1) + 1 }
    /// Nodes including `logits`.
    public var nodeCount: Int { senderCount + 1 }

    /// Closed-form edge count (spec §2.4); equals `edges.count`.
    public var edgeCount: Int {
        let h = heads, l = layers
        let parallel = (3 * h + 1) * (l + (h + 1) * l * (l - 1) / 2) + 1 + l * (h + 1)
        return parallelResidual ? parallel : parallel + l * h
    }

    // MARK: Indices

    public func senderIndex(ofHead head: Int, layer: Int) -> Int { 1 + layer * (heads + 1) + head }
    public func senderIndex(ofMLP layer: Int) -> Int { 1 + layer * (heads + 1) + heads }

    public func receiverIndex(ofHead head: Int, layer: Int, slot: QKV) -> Int {
        layer * (3 * heads + 1) + slot.rawValue * heads + head
    }
    public func receiverIndex(ofMLP layer: Int) -> Int { layer * (3 * heads + 1) + 3 * heads }
    public var logitsReceiverIndex: Int { receiverCount - 1 }

    /// Senders `0..<n` feed receiver `r`: the reference's `prev_index`.
    public func upstreamSenderCount(ofReceiver receiver: Int) -> Int {
        if receiver == logitsReceiverIndex { return senderCount }
        let layer = receiver / (3 * heads + 1)
        let withinLayer = receiver % (3 * heads + 1)
        let isMLP = withinLayer == 3 * heads
        return 1 + layer * (heads + 1) + (isMLP && !parallelResidual ? heads : 0)
    }

    /// The layer whose computation reads receiver `r` (`layers` for logits).
    public func layer(ofReceiver receiver: Int) -> Int {
        receiver == logitsReceiverIndex ? layers : receiver / (3 * heads + 1)
    }

    /// The sender that owns receiver `r` (a head for q/k/v slots, an MLP, or nil for logits).
    public func sender(ofReceiver receiver: Int) -> Int? {
        if receiver == logitsReceiverIndex { return nil }
        let layer = receiver / (3 * heads + 1)
        let withinLayer = receiver % (3 * heads + 1)
        if withinLayer == 3 * heads { return senderIndex(ofMLP: layer) }
        return senderIndex(ofHead: withinLayer % heads, layer: layer)
    }

    /// Receiver slots of a sender: three for a head, one for an MLP, none for `input`.
    public func receivers(ofSender sender: Int) -> [Int] {
        guard sender > 0 else { return [] }
        let layer = (sender - 1) / (heads + 1)
        let within = (sender - 1) % (heads + 1)
        if within == heads { return [receiverIndex(ofMLP: layer)] }
        return QKV.allCases.map { receiverIndex(ofHead: within, layer: layer, slot: $0) }
    }

    // MARK: Names

    /// Reference node name of a sender: `input`, `a{l}.h{h}`, `m{l}`.
    public func senderName(_ sender: Int) -> String {
        if sender == 0 { return "input" }
        let layer = (sender - 1) / (heads + 1)
        let within = (sender - 1) % (heads + 1)
        return within == heads ? "m\(layer)" : "a\(layer).h\(within)"
    }

    /// Reference name of a receiver slot: `a{l}.h{h}<q>`, `m{l}`, `logits`.
    public func receiverName(_ receiver: Int) -> String {
        if receiver == logitsReceiverIndex { return "logits" }
        let layer = receiver / (3 * heads + 1)
        let within = receiver % (3 * heads + 1)
        if within == 3 * heads { return "m\(layer)" }
        let slot = QKV(rawValue: within / heads)!
        return "a\(layer).h\(within % heads)<\(slot.letter)>"
    }

    /// `{parent}->{child}` with the `<q|k|v>` suffix on head children.
    public func edgeName(_ edge: Edge) -> String {
        "\(senderName(edge.sender))->\(receiverName(edge.receiver))"
    }
}

/// Which input of an attention head a receiver slot is.
public enum QKV: Int, Sendable, CaseIterable {
    case q = 0, k = 1, v = 2
    var letter: String { ["q", "k", "v"][rawValue] }
}

/// One edge as (sender index, receiver index) in the score matrix.
public struct Edge: Sendable, Hashable {
    public let sender: Int
    public let receiver: Int
    public init(sender: Int, receiver: Int) {
        self.sender = sender
        self.receiver = receiver
    }
}
