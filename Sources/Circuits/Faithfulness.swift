/// How a circuit's metric is compared with the full model's (spec/paper-pipeline.md §3.3).
public enum FaithfulnessNormalization: String, Sendable, Codable, CaseIterable {
    /// mean M(C) / mean M(full): the Tigges et al. code and paper.
    case ratio
    /// (mean M(C) − mean M(∅)) / (mean M(full) − mean M(∅)): Hanna et al. 2024.
    case normalized

    /// Faithfulness of a circuit metric given the full-model and empty-circuit metrics.
    /// Returns NaN when the denominator is zero (faithfulness is undefined then).
    public func faithfulness(circuit: Double, full: Double, empty: Double) -> Double {
        switch self {
        case .ratio: full == 0 ? .nan : circuit / full
        case .normalized: full == empty ? .nan : (circuit - empty) / (full - empty)
        }
    }
}

/// The rule that finds the smallest faithful circuit size.
///
/// Defaults follow the Tigges et al. code (`get_faithfulness_metrics_adaptive`, spec/paper-pipeline.md
/// §3.3): scan n = 25, 50, … with step 25, halving the step once when F first exceeds
/// 0.75·threshold and resetting it when F falls back below that or below the previous value
/// (halving at every step would degrade the scan to step 1 and make the binary search moot); at the first n with
/// F ≥ threshold, binary-search the window since the last failing size; when a probe lands within
/// ±0.08 of the threshold also probe the five sizes below the result. The curve continues to
/// `end` every `curveStep` edges. A size is "requested edges" (before pruning), as in the paper.
public struct FaithfulnessSearchPolicy: Sendable, Equatable, Codable {
    public var start: Int = 25
    public var end: Int = 1600
    public var step: Int = 25
    public var curveStep: Int = 50
    public var threshold: Double = 0.8
    public var normalization: FaithfulnessNormalization = .ratio

    public init(start: Int = 25, end: Int = 1600, step: Int = 25, curveStep: Int = 50,
                threshold: Double = 0.8, normalization: FaithfulnessNormalization = .ratio) {
        self.start = start
        self.end = end
        self.step = step
        self.curveStep = curveStep
        self.threshold = threshold
        self.normalization = normalization
    }

    /// The paper's text: search from 1 edge to 5 % of the model's edges.
    public static func paperText(edgeCount: Int, threshold: Double = 0.8,
                                 normalization: FaithfulnessNormalization = .ratio) -> Self {
        let end = max(1, edgeCount / 20)
        let step = max(1, end / 64)
        return Self(start: step, end: end, step: step, curveStep: step, threshold: threshold, normalization: normalization)
    }
}

/// One evaluated circuit size.
public struct FaithfulnessPoint: Sendable, Equatable, Codable {
    /// Requested edges (before pruning).
    public var size: Int
    /// Mean metric of the circuit.
    public var metric: Double
    /// Faithfulness under both normalizations.
    public var ratio: Double
    public var normalized: Double
}

/// Outcome of the minimal-circuit search.
public struct FaithfulnessSearchResult: Sendable, Equatable {
    /// Every evaluated size, ascending.
    public var curve: [FaithfulnessPoint]
    /// Smallest size found with F ≥ threshold, or `policy.end` if the threshold was never reached.
    public var minimalSize: Int
    /// Whether the threshold was reached at all.
    public var reached: Bool
    public var policy: FaithfulnessSearchPolicy
}

/// Finds the smallest faithful circuit size by evaluating circuits of requested sizes.
///
/// Pure: the caller supplies `evaluate(n)` (the mean metric of the circuit selected with n
/// requested edges) and the full/empty metrics. Sizes are evaluated at most once each.
public struct FaithfulnessSearch {
    public let policy: FaithfulnessSearchPolicy
    public let fullMetric: Double
    public let emptyMetric: Double
    /// Largest meaningful size (the graph's edge count).
    public let maximumSize: Int

    public init(policy: FaithfulnessSearchPolicy, fullMetric: Double, emptyMetric: Double, maximumSize: Int) {
        self.policy = policy
        self.fullMetric = fullMetric
        self.emptyMetric = emptyMetric
        self.maximumSize = maximumSize
    }

    private func faithfulness(_ metric: Double) -> Double {
        policy.normalization.faithfulness(circuit: metric, full: fullMetric, empty: emptyMetric)
    }

    /// Runs the search. `progress` is told each size as it is evaluated.
    public func run(
        evaluate: (Int) throws -> Double,
        progress: (Int) -> Void = { _ in }
    ) rethrows -> FaithfulnessSearchResult {
        let end = max(1, min(policy.end, maximumSize))
        let baseStep = max(1, policy.step)
        var cache: [Int: Double] = [:]
        func f(_ n: Int) throws -> Double {
            if let metric = cache[n] { return faithfulness(metric) }
            progress(n)
            let metric = try evaluate(n)
            cache[n] = metric
            return faithfulness(metric)
        }
        let threshold = policy.threshold
        let warm = 0.75 * threshold

        // 1. Coarse adaptive scan.
        var n = max(1, min(policy.start, end))
        var step = baseStep
        var lastFail = 0
        var firstPass: Int?
        var previous = -Double.infinity
        while n <= end {
            let value = try f(n)
            if value >= threshold { firstPass = n; break }
            lastFail = n
            if value < warm || value < previous {
                step = baseStep
            } else if previous < warm {
                step = max(1, step / 2)  // entering the warm zone: halve once
            }
            previous = value
            if n == end { break }
            n = min(end, n + step)
        }

        // 2. Binary search in (lastFail, firstPass].
        var minimal = end
        if let pass = firstPass {
            var low = lastFail, high = pass
            var nearThreshold = abs(try f(pass) - threshold) <= 0.08
            while high - low > 1 {
                let mid = (low + high) / 2
                let value = try f(mid)
                if abs(value - threshold) <= 0.08 { nearThreshold = true }
                if value >= threshold { high = mid } else { low = mid }
            }
            if nearThreshold {
                for delta in stride(from: 5, through: 1, by: -1) where high - delta >= 1 {
                    if try f(high - delta) >= threshold { high -= delta; break }
                }
            }
            minimal = high
        }

        // 3. The rest of the curve, for plotting.
        let curveStep = max(1, policy.curveStep)
        var m = ((firstPass ?? end) / curveStep + 1) * curveStep
        while m < end {
            _ = try f(m)
            m += curveStep
        }
        _ = try f(end)

        let curve = cache.keys.sorted().map { size -> FaithfulnessPoint in
            let metric = cache[size]!
            return FaithfulnessPoint(
                size: size, metric: metric,
                ratio: FaithfulnessNormalization.ratio.faithfulness(circuit: metric, full: fullMetric, empty: emptyMetric),
                normalized: FaithfulnessNormalization.normalized.faithfulness(circuit: metric, full: fullMetric, empty: emptyMetric))
        }
        return FaithfulnessSearchResult(curve: curve, minimalSize: minimal, reached: firstPass != nil, policy: policy)
    }
}
