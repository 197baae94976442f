import Circuits
import NeoX

/// The S-inhibition flip checks and the S2I classification (spec/paper-pipeline.md §5.5 and §6
/// step C; the code's `evaluate_s2i_candidates` with `S2I_token_pos`).
///
/// For every candidate head and every flip (`IOIFlip`), the head's output at the END position is
/// path-patched from the flipped prompt into the queries of all name movers (`PathPatcher`, sender
/// rows = END). Measured over the clean prompts: the mean logit difference LD = logit[IO] − logit[S]
/// at END, and the name movers' attention from END to the clean prompt's IO, S1 and S2 positions
/// (mean over name movers and prompts). Each is stored as the relative change
/// (patched − clean) / clean, as the code does.
///
/// A head is S2I when it is a candidate, its S-inhibition effect e′ < −0.001 (`s_inhibition` >
/// 0.001) and, under token-same/pos-opposite, ΔLD < 0, ΔIO attention < 0 and ΔS1 attention > 0.
public struct S2IFlipChecks: Sendable, Equatable {
    /// Where the candidates came from.
    public enum CandidateSource: String, Sendable, Equatable {
        /// Heads with an in-circuit edge into some name mover's query (`a{l}.h{h}<q>`).
        case circuit
        /// No circuit was available: every head was a candidate.
        case allHeads = "all_heads"
    }

    /// Clean-run values the changes are relative to.
    public struct Baseline: Sendable, Equatable {
        public var logitDiff: Double
        public var ioAttention: Double
        public var s1Attention: Double
        public var s2Attention: Double
    }

    /// The code's e′ threshold: S2I heads have e′ < −0.001, i.e. `s_inhibition` > 0.001.
    public static let sInhibitionThreshold = 0.001

    public let layers: Int
    public let heads: Int
    /// Flips in storage order (the first axis of the change arrays).
    public var flips: [IOIFlip]
    public var candidateSource: CandidateSource
    /// [L·H]: heads that were measured (the circuit's candidates, or without a circuit every head
    /// whose `s_inhibition` > 0.001), given that there are name movers.
    public var candidates: [Bool]
    /// [L·H]: the name movers whose queries are the receivers.
    public var nameMovers: [Bool]
    /// Nil when there are no name movers (nothing measured).
    public var baseline: Baseline?
    /// [F·L·H], index (f·L + l)·H + h; NaN for heads that were not measured.
    public var logitDiffChange: [Double]
    public var ioAttentionChange: [Double]
    public var s1AttentionChange: [Double]
    public var s2AttentionChange: [Double]
    /// [L·H]: the S2I classification.
    public var s2i: [Bool]

    /// Index of (flip, layer, head) in the change arrays.
    public func index(_ flip: IOIFlip, _ layer: Int, _ head: Int) -> Int? {
        flips.firstIndex(of: flip).map { ($0 * layers + layer) * heads + head }
    }

    /// The S2I heads, sorted.
    public var s2iHeads: [PathPatcher.HeadIndex] {
        s2i.indices.filter { s2i[$0] }.map { PathPatcher.HeadIndex(layer: $0 / heads, head: $0 % heads) }
    }
}

extension IOIPathPatching {
    /// Candidates as the code picks them: sender heads `a{l}.h{h}` of in-circuit edges whose receiver
    /// is some name mover's query `a{L}.h{H}<q>`. Other senders (`input`, MLPs) are dropped.
    /// - Parameter circuitEdges: names of the circuit's in-circuit edges, "{sender}->{receiver}".
    public static func s2iCandidates(circuitEdges: [String], nameMovers: [PathPatcher.HeadIndex]) -> Set<PathPatcher.HeadIndex> {
        let queries = Set(nameMovers.map { "a\($0.layer).h\($0.head)<q>" })
        var candidates = Set<PathPatcher.HeadIndex>()
        for edge in circuitEdges {
            guard let arrow = edge.range(of: "->"), queries.contains(String(edge[arrow.upperBound...])),
                  let sender = headIndex(node: edge[..<arrow.lowerBound]) else { continue }
            candidates.insert(sender)
        }
        return candidates
    }

    /// Parses `a{layer}.h{head}`; nil for any other node name.
    static func headIndex(node: Substring) -> PathPatcher.HeadIndex? {
        guard node.hasPrefix("a"), let dot = node.firstIndex(of: ".") else { return nil }
        let rest = node[node.index(after: dot)...]
        guard rest.hasPrefix("h"), let layer = Int(node[node.index(after: node.startIndex)..<dot]),
              let head = Int(rest.dropFirst()) else { return nil }
        return PathPatcher.HeadIndex(layer: layer, head: head)
    }

    /// Runs the flip checks and classifies the heads.
    /// - Parameters:
    ///   - examples: the clean IOI examples (`correct[0]` = IO, `incorrect[0]` = S).
    ///   - flipped: every flip's dataset (`IOIFlip.flipped`), built from `examples`.
    ///   - candidates: heads to measure; nil = every head with `s_inhibition` >
    ///     ``S2IFlipChecks/sInhibitionThreshold`` (`CandidateSource.allHeads`).
    ///   - sInhibition: `s_inhibition` = −e′ of every head.
    ///   - chunkSize: prompts per batch (memory only).
    /// - Throws: `HeadScoreError.badInput` for prompts that are not IOI prompts or flipped datasets
    ///   that do not match the examples.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func flipChecks(
        model: NeoXModel, examples: [TaskExample], flipped: [(flip: IOIFlip, examples: [TaskExample])],
        nameMovers: [PathPatcher.HeadIndex], candidates: Set<PathPatcher.HeadIndex>?, sInhibition: HeadScoreGrid,
        chunkSize: Int = 16
    ) throws -> S2IFlipChecks {
        try validate(examples, model: model)
        let L = model.layerCount, H = model.heads, F = flipped.count
        guard sInhibition.layers == L, sInhibition.heads == H else {
            throw HeadScoreError.badInput("s_inhibition is [\(sInhibition.layers), \(sInhibition.heads)], the model [\(L), \(H)]")
        }
        for (flip, set) in flipped {
            guard set.count == examples.count, zip(set, examples).allSatisfy({ $0.clean == $1.clean && $0.correct == $1.correct && $0.incorrect == $1.incorrect }) else {
                throw HeadScoreError.badInput("the \(flip.rawValue) dataset does not match the clean IOI examples")
            }
        }
        let positions = try IOIFlip.positions(examples)
        if let outside = candidates?.first(where: { !(0..<L).contains($0.layer) || !(0..<H).contains($0.head) }) {
            throw HeadScoreError.badInput("S2I candidate \(outside.layer).\(outside.head) is not a head of this \(L)×\(H) model")
        }
        // Without a circuit, only heads past the e′ threshold are measured: no other head can be
        // S2I (the code's order too: e′ first, then `evaluate_s2i_candidates`), which keeps
        // `heads` on a whole model affordable.
        let measured = nameMovers.isEmpty ? [] : (candidates.map { $0.sorted() }
            ?? (0..<L).flatMap { l in (0..<H).map { PathPatcher.HeadIndex(layer: l, head: $0) } }
                .filter { sInhibition[$0.layer, $0.head] > S2IFlipChecks.sInhibitionThreshold })
        var checks = S2IFlipChecks(
            layers: L, heads: H, flips: flipped.map(\.flip), candidateSource: candidates == nil ? .allHeads : .circuit,
            candidates: [Bool](repeating: false, count: L * H), nameMovers: [Bool](repeating: false, count: L * H),
            baseline: nil, logitDiffChange: [Double](repeating: .nan, count: F * L * H),
            ioAttentionChange: [Double](repeating: .nan, count: F * L * H), s1AttentionChange: [Double](repeating: .nan, count: F * L * H),
            s2AttentionChange: [Double](repeating: .nan, count: F * L * H), s2i: [Bool](repeating: false, count: L * H))
        for head in nameMovers { checks.nameMovers[head.layer * H + head.head] = true }
        for head in measured { checks.candidates[head.layer * H + head.head] = true }
        guard !measured.isEmpty else { return checks }

        // Sums over prompts of LD and of the name movers' mean END→IO/S1/S2 attention.
        var baseline = Measures()
        var patched = [Measures](repeating: Measures(), count: F * measured.count)
        let step = max(1, chunkSize)
        for start in stride(from: 0, to: examples.count, by: step) {
            let range = start..<min(examples.count, start + step)
            let chunk = Array(examples[range]), at = Array(positions[range])
            for (f, (_, set)) in flipped.enumerated() {
                let patcher: PathPatcher
                do {
                    patcher = try PathPatcher(model: model, clean: chunk.map(\.clean), corrupted: set[range].map(\.corrupted))
                } catch { throw HeadScoreError.forwardFailed("\(error)") }
                let endRows = zip(patcher.layout.offsets, patcher.layout.lengths).map { $0 + $1 - 1 }
                if f == 0 { baseline.add(Measures(run: patcher.cleanRun, model: model, chunk: chunk, positions: at, endRows: endRows, nameMovers: nameMovers)) }
                for (c, sender) in measured.enumerated() {
                    let run = patcher.patchedRun(sender: sender, into: .heads(nameMovers, slot: 0), senderRows: endRows)
                    patched[f * measured.count + c].add(Measures(run: run, model: model, chunk: chunk, positions: at, endRows: endRows, nameMovers: nameMovers))
                }
            }
        }
        let n = Double(examples.count)
        checks.baseline = S2IFlipChecks.Baseline(logitDiff: baseline.logitDiff / n, ioAttention: baseline.io / n,
                                                 s1Attention: baseline.s1 / n, s2Attention: baseline.s2 / n)
        for f in 0..<F {
            for (c, head) in measured.enumerated() {
                let sums = patched[f * measured.count + c], i = (f * L + head.layer) * H + head.head
                checks.logitDiffChange[i] = (sums.logitDiff - baseline.logitDiff) / baseline.logitDiff
                checks.ioAttentionChange[i] = (sums.io - baseline.io) / baseline.io
                checks.s1AttentionChange[i] = (sums.s1 - baseline.s1) / baseline.s1
                checks.s2AttentionChange[i] = (sums.s2 - baseline.s2) / baseline.s2
            }
        }
        checks.s2i = classify(checks, sInhibition: sInhibition)
        return checks
    }

    /// The S2I mask: candidate, `s_inhibition` > 0.001, and under token-same/pos-opposite
    /// ΔLD < 0, ΔIO attention < 0, ΔS1 attention > 0. All false without that flip.
    public static func classify(_ checks: S2IFlipChecks, sInhibition: HeadScoreGrid) -> [Bool] {
        (0..<(checks.layers * checks.heads)).map { k in
            let l = k / checks.heads, h = k % checks.heads
            guard checks.candidates[k], sInhibition[l, h] > S2IFlipChecks.sInhibitionThreshold,
                  let i = checks.index(.tokenSamePosOpposite, l, h) else { return false }
            return checks.logitDiffChange[i] < 0 && checks.ioAttentionChange[i] < 0 && checks.s1AttentionChange[i] > 0
        }
    }
}

/// Sums over prompts of the flip-check measures.
private struct Measures {
    var logitDiff = 0.0, io = 0.0, s1 = 0.0, s2 = 0.0

    init() {}

    /// LD at END and the name movers' mean END→IO/S1/S2 attention, summed over the chunk's prompts.
    init(run: PathPatcher.PatchedRun, model: NeoXModel, chunk: [TaskExample], positions: [IOIPositions],
         endRows: [Int], nameMovers: [PathPatcher.HeadIndex]) {
        for (b, (example, at)) in zip(chunk, positions).enumerated() {
            logitDiff += IOIPathPatching.logitDiff(run.finalNorm + endRows[b] * model.d, example, model: model)
            let n = at.end + 1
            var ioSum = 0.0, s1Sum = 0.0, s2Sum = 0.0
            for mover in nameMovers {
                let endRow = run.attentionProbabilities(layer: mover.layer, sequence: b, head: mover.head) + at.end * n
                ioSum += Double(endRow[at.io])
                s1Sum += Double(endRow[at.s1])
                s2Sum += Double(endRow[at.s2])
            }
            let movers = Double(nameMovers.count)
            io += ioSum / movers
            s1 += s1Sum / movers
            s2 += s2Sum / movers
        }
    }

    mutating func add(_ other: Measures) {
        logitDiff += other.logitDiff
        io += other.io
        s1 += other.s1
        s2 += other.s2
    }
}
