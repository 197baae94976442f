import Circuits
import Foundation
import Tensor

/// Task behaviour as the paper reports it (spec/paper-pipeline.md §2, spec/eap-ig.md §4): pure
/// functions of the logits at each example's metric position (its last clean token).
public enum BehaviourMetrics {
    /// Per-example metric values, their mean, and accuracy.
    public struct Summary: Sendable, Equatable, Codable {
        public var metric: TaskMetric
        public var perExample: [Double]
        /// Plain mean over examples.
        public var mean: Double
        /// Fraction of examples with a positive metric: the correct answer beats the incorrect one
        /// (logit difference > 0), or the correct group holds more probability than the incorrect
        /// group (probability difference > 0).
        public var accuracy: Double
    }

    /// The metric position of an example: its last clean token.
    public static func position(of example: TaskExample) -> Int { example.clean.count - 1 }

    /// Logit difference logit[correct₀] − logit[incorrect₀] (`compute_logit_diff`, mode "simple").
    public static func logitDifference(_ logits: UnsafeBufferPointer<Float>, correct: Int, incorrect: Int) -> Double {
        Double(logits[correct]) - Double(logits[incorrect])
    }

    /// Probability difference Σ_{correct} p − Σ_{incorrect} p, softmax over the whole row
    /// (mode `group_sum`). Computed in Double.
    public static func probabilityDifference(_ logits: UnsafeBufferPointer<Float>, correct: [Int], incorrect: [Int]) -> Double {
        var maxLogit = -Double.infinity
        for v in logits { maxLogit = max(maxLogit, Double(v)) }
        var total = 0.0
        for v in logits { total += exp(Double(v) - maxLogit) }
        func mass(_ ids: [Int]) -> Double { ids.reduce(0) { $0 + exp(Double(logits[$1]) - maxLogit) } / total }
        return mass(correct) - mass(incorrect)
    }

    /// The metric of one example from its logit row [V].
    public static func value(_ metric: TaskMetric, logits: UnsafeBufferPointer<Float>, example: TaskExample) -> Double {
        switch metric {
        case .logitDiff:
            return logitDifference(logits, correct: example.correct[0], incorrect: example.incorrect[0])
        case .probDiff:
            return probabilityDifference(logits, correct: example.correct, incorrect: example.incorrect)
        }
    }

    /// Evaluates every example from logits [N, V] taken at the examples' metric positions.
    /// - Throws: `MetricError` when the logits do not match the examples.
    public static func evaluate(_ examples: TaskExamples, logitsAtPositions logits: Tensor) throws(MetricError) -> Summary {
        let n = examples.examples.count
        guard logits.rank == 2, logits.shape[0] == n else {
            throw .shapeMismatch("logits have shape \(logits.shape), expected [\(n), V]")
        }
        let vocab = logits.shape[1]
        for (i, example) in examples.examples.enumerated() {
            guard !example.correct.isEmpty, !example.incorrect.isEmpty,
                  (example.correct + example.incorrect).allSatisfy({ $0 >= 0 && $0 < vocab }) else {
                throw .badExample(index: i, reason: "answer ids must be non-empty and below the vocabulary size \(vocab)")
            }
        }
        let values: [Double] = logits.storage.withUnsafeBufferPointer { all in
            (0..<n).map { i in
                let row = UnsafeBufferPointer(rebasing: all[(i * vocab)..<((i + 1) * vocab)])
                return value(examples.metric, logits: row, example: examples.examples[i])
            }
        }
        let mean = n == 0 ? 0 : values.reduce(0, +) / Double(n)
        let accuracy = n == 0 ? 0 : Double(values.filter { $0 > 0 }.count) / Double(n)
        return Summary(metric: examples.metric, perExample: values, mean: mean, accuracy: accuracy)
    }
}

/// Errors from evaluating a metric.
public enum MetricError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(String)
    case badExample(index: Int, reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(reason): return "metric input: \(reason)"
        case let .badExample(index, reason): return "example \(index): \(reason)"
        }
    }
}
