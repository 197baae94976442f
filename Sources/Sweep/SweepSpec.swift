/// A sweep: which models, checkpoints, tasks and analyses to run, and how to run them.
///
/// Read from a YAML file with ``SweepSpec/parse(yaml:file:)``; the file format is documented
/// in `schemas/sweep.schema.json`. Relative paths stay relative here; the shells resolve them
/// (the coordinator against the sweep file's folder, workers against `--model-root`).
public struct SweepSpec: Sendable, Equatable {
    /// Models in the order the file lists them (a tie-breaker for priorities).
    public var models: [ModelSpec]
    /// Revisions used by every model that does not list its own.
    public var revisions: [Revision]
    public var tasks: [TaskSpec]
    public var analyses: [AnalysisSpec]
    public var priority: PriorityPolicy
    public var retry: RetryPolicy
    public var lease: LeasePolicy
    public var speculation: SpeculationPolicy
    /// Results folder; `results/<model>/<task>/<revision>.h5` go under it, plus `journal.sqlite`.
    public var results: String
    /// The tokenizer (`tokenizer.json`) the built-in tasks' datasets are generated with,
    /// relative to the sweep file's folder. Datasets are generated once, by the coordinator.
    public var tokenizer: String?

    public init(
        models: [ModelSpec], revisions: [Revision], tasks: [TaskSpec], analyses: [AnalysisSpec],
        priority: PriorityPolicy = .finalFirst, retry: RetryPolicy = RetryPolicy(),
        lease: LeasePolicy = LeasePolicy(), speculation: SpeculationPolicy = SpeculationPolicy(),
        results: String = "results"
    ) {
        self.models = models
        self.revisions = revisions
        self.tasks = tasks
        self.analyses = analyses
        self.priority = priority
        self.retry = retry
        self.lease = lease
        self.speculation = speculation
        self.results = results
    }

    /// The revisions a model runs: its own list, or the sweep-wide one.
    public func revisions(of model: ModelSpec) -> [Revision] {
        model.revisions ?? revisions
    }
}

/// One model family member, e.g. `pythia-70m`.
public struct ModelSpec: Sendable, Equatable, Codable {
    /// Short name used in result paths; letters, digits, `.`, `_`, `-`.
    public var name: String
    public var location: ModelLocation
    /// Overrides the sweep-wide revision list.
    public var revisions: [Revision]?

    public init(name: String, location: ModelLocation, revisions: [Revision]? = nil) {
        self.name = name
        self.location = location
        self.revisions = revisions
    }
}

/// Where a model's checkpoints live on a worker.
public enum ModelLocation: Sendable, Equatable, Codable {
    /// A plain folder with one sub-folder per revision: `<path>/<revision>/config.json`.
    case folder(path: String)
    /// A Hugging Face hub cache root (`…/hub`) and a repo id; revision `r` resolves through
    /// `models--org--name/refs/r` to `snapshots/<commit>/`.
    case huggingFaceCache(root: String, repo: String)

    /// The part of the location that identifies the weights (not where they are stored):
    /// the repo id for HF caches, nothing for plain folders (the model name identifies them).
    public var identity: String {
        switch self {
        case .folder: ""
        case .huggingFaceCache(_, let repo): repo
        }
    }
}

/// A training checkpoint name such as `step1000` or `main`.
public struct Revision: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var name: String

    public init(_ name: String) { self.name = name }

    /// The training step for `step<N>` names, `nil` otherwise.
    public var step: Int? {
        guard name.hasPrefix("step"), let n = Int(name.dropFirst(4)), n >= 0 else { return nil }
        return n
    }

    public var description: String { name }

    /// Steps order numerically; other names (`main`) sort after every step, by name.
    public static func < (a: Revision, b: Revision) -> Bool {
        switch (a.step, b.step) {
        case let (x?, y?): x < y
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): a.name < b.name
        }
    }

    public init(from decoder: Decoder) throws {
        name = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}

/// A task dataset: generator name, number of examples and seed.
public struct TaskSpec: Sendable, Equatable, Hashable, Codable {
    public var name: String
    public var size: Int
    public var seed: UInt64
    /// A ready-made examples file (schemas/examples.schema.json), relative to the sweep file's
    /// folder; `nil` generates the built-in task called `name` (ioi, greater-than,
    /// gendered-pronoun, sva) from the sweep's tokenizer.
    public var examples: String?

    public init(name: String, size: Int, seed: UInt64, examples: String? = nil) {
        self.name = name
        self.size = size
        self.seed = seed
        self.examples = examples
    }
}

/// How edges are attributed (spec/eap-ig.md), or a built-in test analysis.
public enum AttributionMethod: String, Sendable, Codable, CaseIterable {
    case eap
    case eapIGInputs = "eap-ig-inputs"
    case cleanCorrupted = "clean-corrupted"
    /// Built in: does nothing and writes a minimal result.
    case noop
    /// Built in: sleeps `seconds`, then writes a minimal result.
    case sleep
}

/// The minimal-circuit search (spec/paper-pipeline.md §3.3).
public struct CircuitSearch: Sendable, Equatable, Hashable, Codable {
    public var threshold: Double
    public var start: Int
    public var end: Int
    public var step: Int

    public init(threshold: Double = 0.8, start: Int = 25, end: Int = 1600, step: Int = 25) {
        self.threshold = threshold
        self.start = start
        self.end = end
        self.step = step
    }
}

/// Attention-head function scores (spec/paper-pipeline.md §5).
public enum HeadScore: String, Sendable, Codable, CaseIterable, Comparable {
    case induction, successor, copy
    case copySuppression = "copy-suppression"
    /// IOI path patching: direct effects and the S-inhibition score.
    case sInhibition = "s-inhibition"

    public static func < (a: HeadScore, b: HeadScore) -> Bool { a.rawValue < b.rawValue }
}

/// One analysis run on every (model, revision, task).
public struct AnalysisSpec: Sendable, Equatable, Hashable, Codable {
    /// Label; defaults to the method name. Must be unique within a sweep.
    public var name: String
    public var method: AttributionMethod
    /// Integrated-gradient steps (EAP-IG methods); ignored by `eap`, `noop` and `sleep`.
    public var steps: Int
    /// The circuit search; `nil` skips it.
    public var circuit: CircuitSearch?
    /// Sorted, without duplicates.
    public var headScores: [HeadScore]
    /// Seconds slept by the `sleep` method.
    public var seconds: Double

    public init(
        name: String? = nil, method: AttributionMethod, steps: Int = 30,
        circuit: CircuitSearch? = nil, headScores: [HeadScore] = [], seconds: Double = 0
    ) {
        self.name = name ?? method.rawValue
        self.method = method
        self.steps = steps
        self.circuit = circuit
        self.headScores = Array(Set(headScores)).sorted()
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case name, method, steps, circuit, seconds
        case headScores = "head_scores"
    }
}

/// The order units are handed out in.
public enum PriorityPolicy: String, Sendable, Codable, CaseIterable {
    /// Final checkpoints first, then log-spaced coverage of the rest (every model's
    /// final revision, then step 0, then the midpoints in log-step space, breadth first).
    case finalFirst = "final-first"
    /// Revision order, earliest first.
    case inOrder = "in-order"
}

/// When a failing unit is retried and when it is quarantined.
public struct RetryPolicy: Sendable, Equatable, Codable {
    /// Attempts (failures and lease expiries) before the unit is quarantined.
    public var maxAttempts: Int
    /// Delay before the 2nd attempt; doubles each time up to `maxBackoffSeconds`.
    public var backoffSeconds: Double
    public var maxBackoffSeconds: Double

    public init(maxAttempts: Int = 3, backoffSeconds: Double = 5, maxBackoffSeconds: Double = 300) {
        self.maxAttempts = maxAttempts
        self.backoffSeconds = backoffSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
    }

    /// Delay after the `failures`-th failure (1-based): base · 2^(failures−1), capped.
    public func backoff(afterFailures failures: Int) -> Double {
        let exponent = Double(max(0, min(failures - 1, 30)))
        return min(maxBackoffSeconds, backoffSeconds * pow2(exponent))
    }

    private func pow2(_ e: Double) -> Double {
        var v = 1.0
        for _ in 0..<Int(e) { v *= 2 }
        return v
    }
}

/// Lease length and heartbeat period. A lease ends `seconds` after the last heartbeat.
public struct LeasePolicy: Sendable, Equatable, Codable {
    public var seconds: Double
    public var heartbeatSeconds: Double

    public init(seconds: Double = 60, heartbeatSeconds: Double = 5) {
        self.seconds = seconds
        self.heartbeatSeconds = heartbeatSeconds
    }
}

/// Re-issuing the last straggling units to idle workers; the first committed result wins.
public struct SpeculationPolicy: Sendable, Equatable, Codable {
    public var enabled: Bool
    /// Only units running at least this long are re-issued.
    public var afterSeconds: Double

    public init(enabled: Bool = true, afterSeconds: Double = 30) {
        self.enabled = enabled
        self.afterSeconds = afterSeconds
    }
}
