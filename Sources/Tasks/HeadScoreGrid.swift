/// One score per attention head, an [L, H] array in row-major order (layer-major).
public struct HeadScoreGrid: Sendable, Equatable, Codable {
    public let layers: Int
    public let heads: Int
    /// `values[l * heads + h]`.
    public var values: [Double]

    public init(layers: Int, heads: Int, values: [Double]? = nil) {
        precondition(layers >= 0 && heads >= 0, "negative grid extent")
        self.layers = layers
        self.heads = heads
        self.values = values ?? [Double](repeating: 0, count: layers * heads)
        precondition(self.values.count == layers * heads, "grid needs \(layers * heads) values")
    }

    public subscript(layer: Int, head: Int) -> Double {
        get { values[layer * heads + head] }
        set { values[layer * heads + head] = newValue }
    }

    /// The (layer, head) with the largest score.
    public var argmax: (layer: Int, head: Int) {
        let index = values.indices.max { values[$0] < values[$1] } ?? 0
        return (index / max(heads, 1), index % max(heads, 1))
    }

    /// Rows of the grid, `[[Double]]` [L][H].
    public var rows: [[Double]] {
        (0..<layers).map { l in Array(values[(l * heads)..<((l + 1) * heads)]) }
    }
}

/// The head scores this module computes (spec/paper-pipeline.md §5; schemas/head-scores.md).
public enum HeadScoreKind: String, Sendable, Codable, CaseIterable {
    case induction
    case previousToken = "previous_token"
    case duplicateToken = "duplicate_token"
    case successor
    case copy
    case negativeCopy = "negative_copy"
    case copySuppression = "copy_suppression"
    case directEffect = "direct_effect"
    case sInhibition = "s_inhibition"

    /// Whether the score needs a forward pass (attention patterns, activations or path patching).
    public var needsForward: Bool {
        switch self {
        case .induction, .previousToken, .duplicateToken, .copy, .negativeCopy, .copySuppression, .directEffect, .sInhibition: return true
        case .successor: return false
        }
    }
}

/// Errors from computing head scores.
public enum HeadScoreError: Error, Equatable, CustomStringConvertible {
    case badInput(String)
    case notEnoughTokens(what: String, found: Int, needed: Int)
    case forwardFailed(String)

    public var description: String {
        switch self {
        case let .badInput(reason): return "head scores: \(reason)"
        case let .notEnoughTokens(what, found, needed):
            return "head scores: only \(found) \(what) are single tokens, \(needed) needed; use a GPT-NeoX/Pythia tokenizer"
        case let .forwardFailed(reason): return "head scores: forward pass failed: \(reason)"
        }
    }
}
