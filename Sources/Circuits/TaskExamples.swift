/// The metric a task's behaviour and attribution are measured with (spec/eap-ig.md §4).
public enum TaskMetric: String, Sendable, Codable, CaseIterable {
    /// logit[first correct] − logit[first incorrect] at the last clean token.
    case logitDiff = "logit_diff"
    /// Σ p(correct ids) − Σ p(incorrect ids), softmax over the full vocabulary.
    case probDiff = "prob_diff"
}

/// One clean/corrupted pair, already tokenized (BOS included where the task wants it).
public struct TaskExample: Sendable, Codable, Equatable {
    public var clean: [Int]
    public var corrupted: [Int]
    public var correct: [Int]
    public var incorrect: [Int]

    public init(clean: [Int], corrupted: [Int], correct: [Int], incorrect: [Int]) {
        self.clean = clean
        self.corrupted = corrupted
        self.correct = correct
        self.incorrect = incorrect
    }
}

/// A task's examples file, `schemas/examples.schema.json`:
/// `{"metric": "logit_diff" | "prob_diff", "examples": [{clean, corrupted, correct, incorrect}]}`.
public struct TaskExamples: Sendable, Codable, Equatable {
    public var metric: TaskMetric
    public var examples: [TaskExample]

    public init(metric: TaskMetric, examples: [TaskExample]) {
        self.metric = metric
        self.examples = examples
    }
}
