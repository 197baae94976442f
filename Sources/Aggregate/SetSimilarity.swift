/// Similarity and change measures between two checkpoints' circuits
/// (spec/paper-pipeline.md §4). Edge sets are sorted, duplicate-free index arrays; weighted
/// forms take the edges' EAP-IG scores aligned with those indices.
public enum SetSimilarity {
    /// |A ∩ B| / |A ∪ B|; 0 when both are empty (the paper code's convention).
    public static func jaccard(_ a: [Int], _ b: [Int]) -> Double {
        let shared = intersectionCount(a, b)
        let union = a.count + b.count - shared
        return union == 0 ? 0 : Double(shared) / Double(union)
    }

    /// Σ min(w_a, w_b) / Σ max(w_a, w_b) over the union, with w(e) = |s(e)| / Σ|s| over each
    /// side's own edges (0 for an edge the side lacks). 0 when both sides are empty or all-zero.
    public static func weightedJaccard(_ a: [Int], _ scoresA: [Float], _ b: [Int], _ scoresB: [Float]) -> Double {
        let wa = normalizedWeights(scoresA), wb = normalizedWeights(scoresB)
        var minSum = 0.0, maxSum = 0.0
        merge(a, b) { i, j in
            let x = i.map { wa[$0] } ?? 0, y = j.map { wb[$0] } ?? 0
            minSum += min(x, y)
            maxSum += max(x, y)
        }
        return maxSum == 0 ? 0 : minSum / maxSum
    }

    /// Graph edit distance |B \ A| + |A \ B|.
    public static func editDistance(_ a: [Int], _ b: [Int]) -> Int {
        a.count + b.count - 2 * intersectionCount(a, b)
    }

    /// The signed scores of the edges added (their score in B) and deleted (their score in A), summed.
    public static func weightedEditDistance(_ a: [Int], _ scoresA: [Float], _ b: [Int], _ scoresB: [Float]) -> Double {
        var sum = 0.0
        merge(a, b) { i, j in
            switch (i, j) {
            case let (i?, nil): sum += Double(scoresA[i])
            case let (nil, j?): sum += Double(scoresB[j])
            default: break
            }
        }
        return sum
    }

    /// GTD: over the edges in both circuits, the sum of positive score changes plus the sum of
    /// the magnitudes of negative ones, i.e. Σ |s_B(e) − s_A(e)|.
    public static func totalScoreChange(_ a: [Int], _ scoresA: [Float], _ b: [Int], _ scoresB: [Float]) -> Double {
        var sum = 0.0
        merge(a, b) { i, j in
            if let i, let j { sum += abs(Double(scoresB[j]) - Double(scoresA[i])) }
        }
        return sum
    }

    /// Exponentially weighted moving average, pandas `ewm(alpha, adjust=False)`:
    /// S₀ = x₀, Sᵢ = α·xᵢ + (1−α)·Sᵢ₋₁. NaN inputs are carried over (Sᵢ = Sᵢ₋₁).
    public static func ewma(_ values: [Double], alpha: Double) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(values.count)
        for x in values {
            guard let last = out.last, !last.isNaN else { out.append(x); continue }
            out.append(x.isNaN ? last : alpha * x + (1 - alpha) * last)
        }
        return out
    }

    /// The change rate Rᵢ = α·(1 − WJᵢ) + (1−α)·Rᵢ₋₁ with R₋₁ = 0.
    public static func changeRate(weightedJaccards: [Double], alpha: Double) -> [Double] {
        var rate = 0.0
        return weightedJaccards.map { wj in
            rate = alpha * (1 - wj) + (1 - alpha) * rate
            return rate
        }
    }

    /// Pearson's r, or nil for fewer than 3 points or a constant side.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count == y.count, x.count >= 3 else { return nil }
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }

    static func intersectionCount(_ a: [Int], _ b: [Int]) -> Int {
        var shared = 0
        merge(a, b) { i, j in if i != nil, j != nil { shared += 1 } }
        return shared
    }

    /// Walks the union of two sorted index arrays, calling `visit` with each element's position
    /// in `a` and in `b` (nil where absent).
    static func merge(_ a: [Int], _ b: [Int], _ visit: (Int?, Int?) -> Void) {
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) {
                visit(i, nil); i += 1
            } else if i == a.count || b[j] < a[i] {
                visit(nil, j); j += 1
            } else {
                visit(i, j); i += 1; j += 1
            }
        }
    }

    private static func normalizedWeights(_ scores: [Float]) -> [Double] {
        let total = scores.reduce(0.0) { $0 + abs(Double($1)) }
        return scores.map { total == 0 ? 0 : abs(Double($0)) / total }
    }
}
