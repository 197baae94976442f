/// Revision lists: explicit names, ranges and named presets.
///
/// Accepted forms (one string each; a list of them is concatenated, duplicates dropped,
/// the result sorted by step):
/// - a name: `step1000`, `main`;
/// - a range: `step1000..step143000 every 1000` (both ends included; the end is included
///   even when it is not on the grid);
/// - a preset: `pythia-154` (step0, 1, 2, 4 … 512, then 1000 … 143000 every 1000),
///   `exp-plus-detail` and `sparse` (the paper code's schedules, spec/paper-pipeline.md §1.3).
public enum RevisionSet {
    public static let presets: [String: [Int]] = [
        "pythia-154": pythia154,
        "exp-plus-detail": expPlusDetail,
        "sparse": sparse,
    ]

    /// step0, the 10 log-spaced steps 1…512, then 1000…143000 every 1000 (154 revisions).
    public static let pythia154: [Int] = [0] + logSteps + Array(stride(from: 1000, through: 143_000, by: 1000))

    static let logSteps = (0...9).map { 1 << $0 }

    static let expPlusDetail: [Int] = Array(Set(
        logSteps + Array(stride(from: 1000, through: 15000, by: 1000))
            + Array(stride(from: 15000, through: 65000, by: 5000))
            + Array(stride(from: 70000, through: 140_000, by: 10000)))).sorted()

    static let sparse: [Int] = [256, 512] + Array(stride(from: 1000, through: 9000, by: 1000))
        + Array(stride(from: 10000, through: 45000, by: 5000))
        + Array(stride(from: 50000, through: 90000, by: 10000)) + [100_000, 120_000, 140_000, 143_000]

    /// Why a revision expression was rejected (without a file position; the YAML reader adds it).
    public enum ExpressionError: Error, Equatable, CustomStringConvertible {
        case empty
        case badName(String)
        case badRange(String)
        case unknownPreset(String, suggestion: String?)
        case tooMany(Int)

        public var description: String {
            switch self {
            case .empty: "empty revision"
            case .badName(let s): "bad revision name '\(s)' (expected e.g. step1000 or main)"
            case .badRange(let s):
                "bad revision range '\(s)' (expected 'stepA..stepB every N' with A <= B and N >= 1)"
            case .unknownPreset(let s, let suggestion):
                "unknown revision preset '\(s)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
                    + "; presets: \(RevisionSet.presets.keys.sorted().joined(separator: ", "))"
            case .tooMany(let n): "revision range expands to \(n) revisions (limit 100000)"
            }
        }
    }

    /// Expands one expression.
    public static func expand(_ expression: String) throws(ExpressionError) -> [Revision] {
        let text = expression.trimmingWhitespace()
        guard !text.isEmpty else { throw .empty }
        if let steps = presets[text] { return steps.map { Revision("step\($0)") } }
        if text.contains("..") { return try expandRange(text) }
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
        else { throw .badName(text) }
        if text.hasPrefix("step") {
            guard Revision(text).step != nil else { throw .badName(text) }
        } else if let suggestion = closestMatch(to: text, among: Array(presets.keys)) {
            throw .unknownPreset(text, suggestion: suggestion)
        }
        return [Revision(text)]
    }

    /// Expands and merges several expressions: unique, sorted.
    public static func expand(_ expressions: [String]) throws(ExpressionError) -> [Revision] {
        var all = Set<Revision>()
        for e in expressions { all.formUnion(try expand(e)) }
        return all.sorted()
    }

    private static func expandRange(_ text: String) throws(ExpressionError) -> [Revision] {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[1] == "every", let every = Int(parts[2]), every >= 1 else {
            throw .badRange(text)
        }
        let ends = parts[0].components(separatedBy: "..")
        guard ends.count == 2, let a = Revision(ends[0]).step, let b = Revision(ends[1]).step, a <= b
        else { throw .badRange(text) }
        let count = (b - a) / every + 1
        guard count <= 100_000 else { throw .tooMany(count) }
        var steps = Array(stride(from: a, through: b, by: every))
        if steps.last != b { steps.append(b) }
        return steps.map { Revision("step\($0)") }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// The candidate within edit distance 2 (or a third of the word) of `word`, if any.
func closestMatch(to word: String, among candidates: [String]) -> String? {
    let limit = max(2, word.count / 3)
    var best: (String, Int)?
    for c in candidates.sorted() {
        let d = editDistance(word, c)
        if d <= limit, d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    return best?.0
}

/// Levenshtein distance.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.lowercased()), y = Array(b.lowercased())
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count)
    var cur = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        cur[0] = i
        for j in 1...y.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[y.count]
}
