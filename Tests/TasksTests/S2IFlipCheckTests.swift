import Circuits
import Foundation
import NeoX
import Testing
@testable import Tasks

/// The S-inhibition flip checks (spec/paper-pipeline.md §5.5): the flipped datasets, parity with a
/// naive recomputation, the S2I classification on a hand-built circuit, and candidate filtering.
@Suite struct S2IFlipCheckTests {
    /// The IOI prompts of the head scores (70, seed 42, no BOS) on the Pythia tokenizer.
    static func ioiExamples(size: Int) throws -> (examples: [TaskExample], names: [Int], tokenizerURL: URL) {
        let generator = TaskGenerator(tokenizer: try TaskFixtures.loadTokenizer(), prependBOS: false)
        let dataset = try generator.generate(.ioi, size: size, seed: 42)
        return (dataset.taskExamples.examples, try generator.ioiNameIDs(), TaskFixtures.tokenizerURL)
    }

    @Test func flippedDatasetsAreWhatTheirNamesSay() throws {
        let tokenizer = try TaskFixtures.loadTokenizer()
        let (examples, names, _) = try Self.ioiExamples(size: 40)
        let pool = Set(names)
        let positions = try IOIFlip.positions(examples)
        #expect(Set(positions.map { $0.io < $0.s1 }) == [true, false], "both ABB and BAB prompts occur")
        for flip in IOIFlip.allCases {
            let flipped = try flip.flipped(examples, names: names, seed: 5)
            #expect(try flip.flipped(examples, names: names, seed: 5) == flipped, "\(flip) is deterministic")
            #expect(flipped.count == examples.count)
            for (i, (example, at)) in zip(examples, positions).enumerated() {
                let new = flipped[i].corrupted, io = example.correct[0], s = example.incorrect[0]
                #expect(flipped[i].clean == example.clean && flipped[i].correct == [io] && flipped[i].incorrect == [s])
                #expect(new.count == example.clean.count)
                for p in new.indices where ![at.io, at.s1, at.s2].contains(p) {
                    #expect(new[p] == example.clean[p], "\(flip) example \(i) changes position \(p)")
                }
                // A real prompt: its text encodes back to the same tokens.
                let text = try tokenizer.decode(new)
                #expect(tokenizer.encode(text) == new, "\(flip) example \(i): \(text)")
                let (x, y) = (new[at.io], new[at.s1])
                let slots: [Int] = [new[at.io], new[at.s1], new[at.s2]]
                switch flip {
                case .tokenSamePosOpposite:
                    #expect(slots == [s, io, s])
                case .tokenOppositePosSame:
                    #expect(slots == [s, io, io])
                case .tokenOppositePosOpposite:
                    #expect(slots == [io, s, io])
                    #expect(new == example.corrupted, "the dataset's own corruption ABB->ABA")
                case .tokenDiffPosSame:
                    #expect(new[at.s2] == y)
                case .tokenDiffPosOpposite:
                    #expect(new[at.s2] == x)
                }
                if flip == .tokenDiffPosSame || flip == .tokenDiffPosOpposite {
                    #expect(x != y && pool.contains(x) && pool.contains(y) && ![io, s].contains(x) && ![io, s].contains(y))
                }
            }
        }
        // X and Y depend on the seed only, not on the flip.
        let same = try IOIFlip.tokenDiffPosSame.flipped(examples, names: names, seed: 5)
        let opposite = try IOIFlip.tokenDiffPosOpposite.flipped(examples, names: names, seed: 5)
        for (i, at) in positions.enumerated() {
            #expect(same[i].corrupted[at.io] == opposite[i].corrupted[at.io] && same[i].corrupted[at.s1] == opposite[i].corrupted[at.s1])
        }
        #expect(try IOIFlip.tokenDiffPosSame.flipped(examples, names: names, seed: 6) != same, "another seed, other names")
    }

    @Test func flipsRejectPromptsThatAreNotIOI() throws {
        let examples = HandBuiltModels.markedIOI(count: 4, seed: 1)
        var once = examples
        once[2].clean[5] = 20  // S2 gone: S occurs once
        #expect(throws: HeadScoreError.self) { try IOIFlip.tokenSamePosOpposite.flipped(once, names: Array(0..<8), seed: 1) }
        #expect(throws: HeadScoreError.self) { try IOIFlip.tokenDiffPosSame.flipped(examples, names: [0, 1, 2], seed: 1) }
        #expect(try IOIFlip.tokenDiffPosSame.flipped(examples, names: Array(0..<8), seed: 1).count == 4)
    }

    @Test func candidatesAreSendersIntoNameMoverQueries() {
        let movers = [PathPatcher.HeadIndex(layer: 2, head: 0), PathPatcher.HeadIndex(layer: 3, head: 1)]
        let edges = [
            "a0.h1->a2.h0<q>", "a1.h0->a3.h1<q>", "a0.h0->a2.h0<k>", "a1.h1->a2.h0<v>", "m0->a2.h0<q>",
            "input->a3.h1<q>", "a1.h1->a2.h1<q>", "a0.h0->logits", "a0.h0->m1", "a12.h11->a3.h1<q>",
        ]
        let candidates = IOIPathPatching.s2iCandidates(circuitEdges: edges, nameMovers: movers)
        #expect(candidates == [.init(layer: 0, head: 1), .init(layer: 1, head: 0), .init(layer: 12, head: 11)])
        #expect(IOIPathPatching.s2iCandidates(circuitEdges: edges, nameMovers: []).isEmpty)
    }

    /// The hand-built positional S-inhibition head is S2I, no other head is; candidates from a
    /// circuit restrict what is measured and classified.
    @Test func positionalSInhibitionHeadIsClassifiedS2I() throws {
        let (config, weights) = HandBuiltModels.positionalSInhibitionModel()
        let model = try NeoXModel(config: config, weights: weights)
        let examples = HandBuiltModels.markedIOI(count: 8, seed: 4)
        let flipped = try IOIFlip.allCases.map { ($0, try $0.flipped(examples, names: Array(0..<8), seed: 9)) }
        let mover = PathPatcher.HeadIndex(layer: 2, head: 0)
        let sInhibition = try IOIPathPatching.sInhibition(model: model, examples: examples, nameMovers: [mover], chunkSize: 3)
        #expect(sInhibition[1, 0] > 0.5, "the S-inhibition head carries the behaviour into the name mover's query")
        let everyHead = Set((0..<model.layerCount).flatMap { l in (0..<model.heads).map { PathPatcher.HeadIndex(layer: l, head: $0) } })
        let checks = try IOIPathPatching.flipChecks(model: model, examples: examples, flipped: flipped, nameMovers: [mover],
                                                    candidates: everyHead, sInhibition: sInhibition, chunkSize: 3)
        let baseline = try #require(checks.baseline)
        #expect(baseline.logitDiff > 1 && baseline.ioAttention > 0.8 && baseline.s1Attention < 0.1, "\(baseline)")
        #expect(checks.candidates.allSatisfy { $0 })
        // Without a circuit only heads past the e′ threshold are measured; the S2I heads are the same.
        let unfiltered = try IOIPathPatching.flipChecks(model: model, examples: examples, flipped: flipped, nameMovers: [mover],
                                                        candidates: nil, sInhibition: sInhibition, chunkSize: 3)
        #expect(unfiltered.candidateSource == .allHeads)
        #expect(unfiltered.candidates == sInhibition.values.map { $0 > S2IFlipChecks.sInhibitionThreshold })
        #expect(unfiltered.s2i == checks.s2i)
        #expect(checks.nameMovers == [false, false, false, false, true, false])
        #expect(checks.s2iHeads == [PathPatcher.HeadIndex(layer: 1, head: 0)])
        func change(_ values: [Double], _ flip: IOIFlip, _ l: Int, _ h: Int) -> Double { values[checks.index(flip, l, h)!] }
        // The signal is S1's position: flips that move the names flip the name mover's choice,
        // flips that only change the names do not.
        for flip in [IOIFlip.tokenSamePosOpposite, .tokenDiffPosOpposite, .tokenOppositePosOpposite] {
            #expect(change(checks.logitDiffChange, flip, 1, 0) < -1, "\(flip)")
            #expect(change(checks.ioAttentionChange, flip, 1, 0) < -0.5 && change(checks.s1AttentionChange, flip, 1, 0) > 1, "\(flip)")
        }
        for flip in [IOIFlip.tokenDiffPosSame, .tokenOppositePosSame] {
            #expect(abs(change(checks.logitDiffChange, flip, 1, 0)) < 0.05, "\(flip)")
        }
        // Heads that do not reach the query, or carry nothing under the flip, change nothing.
        for (l, h) in [(0, 0), (1, 1), (2, 0), (2, 1)] {
            for flip in IOIFlip.allCases { #expect(change(checks.logitDiffChange, flip, l, h) == 0, "\(l).\(h) \(flip)") }
        }
        #expect(IOIPathPatching.classify(checks, sInhibition: sInhibition) == checks.s2i)
        // Without e′ < −0.001 the flip checks alone do not make an S2I head.
        var weak = sInhibition
        weak[1, 0] = 0.0005
        #expect(IOIPathPatching.classify(checks, sInhibition: weak).allSatisfy { !$0 })

        // Candidates from a circuit: only the senders into the name mover's query are measured.
        let circuit = ["a0.h1->a2.h0<q>", "a0.h0->a1.h0<k>", "a1.h1->a2.h0<k>"]
        let filtered = try IOIPathPatching.flipChecks(
            model: model, examples: examples, flipped: flipped, nameMovers: [mover],
            candidates: IOIPathPatching.s2iCandidates(circuitEdges: circuit, nameMovers: [mover]), sInhibition: sInhibition)
        #expect(filtered.candidateSource == .circuit)
        #expect(filtered.candidates == [false, true, false, false, false, false])
        #expect(filtered.s2i.allSatisfy { !$0 }, "the S-inhibition head has no circuit edge into the query")
        #expect(filtered.logitDiffChange[filtered.index(.tokenSamePosOpposite, 1, 0)!].isNaN)
        let withHead = try IOIPathPatching.flipChecks(
            model: model, examples: examples, flipped: flipped, nameMovers: [mover],
            candidates: IOIPathPatching.s2iCandidates(circuitEdges: circuit + ["a1.h0->a2.h0<q>"], nameMovers: [mover]),
            sInhibition: sInhibition)
        #expect(withHead.s2iHeads == [PathPatcher.HeadIndex(layer: 1, head: 0)])
        for flip in IOIFlip.allCases {
            let i = try #require(withHead.index(flip, 1, 0))
            #expect(abs(withHead.logitDiffChange[i] - checks.logitDiffChange[i]) < 1e-9, "chunking does not change results")
        }
        // No name mover: nothing measured, nothing classified.
        let none = try IOIPathPatching.flipChecks(model: model, examples: examples, flipped: flipped, nameMovers: [],
                                                  candidates: nil, sInhibition: sInhibition)
        #expect(none.baseline == nil && none.candidates.allSatisfy { !$0 } && none.s2i.allSatisfy { !$0 })
        #expect(none.logitDiffChange.allSatisfy { $0.isNaN })
    }

    /// Every measure equals the code's definition computed with a naive Double forward: McDougall's
    /// path patching with the sender patched at END only, LD and the name movers' END attention.
    @Test func flipChecksMatchNaiveRecomputation() throws {
        let (config, weights, _) = try IOIPathPatchingTests.fixture("neox-tiny")
        let model = try NeoXModel(config: config, weights: weights)
        let naive = NaiveForward(config: config, weights: weights)
        let examples = IOIPathPatchingTests.miniIOI(count: 5, seed: 11)
        let flipped = try IOIFlip.allCases.map { ($0, try $0.flipped(examples, names: Array(0..<8), seed: 2)) }
        let L = config.numLayers, H = config.numHeads
        let movers = [PathPatcher.HeadIndex(layer: L - 1, head: 1), PathPatcher.HeadIndex(layer: L - 1, head: H - 1)]
        let sInhibition = HeadScoreGrid(layers: L, heads: H, values: (0..<(L * H)).map { $0 % 2 == 0 ? 0.01 : 0 })
        let checks = try IOIPathPatching.flipChecks(model: model, examples: examples, flipped: flipped, nameMovers: movers,
                                                    candidates: nil, sInhibition: sInhibition, chunkSize: 2)
        let positions = try IOIFlip.positions(examples)
        func measures(_ runs: [NaiveForward.Run]) -> [Double] {
            var sums = [0.0, 0.0, 0.0, 0.0]
            for (run, (example, at)) in zip(runs, zip(examples, positions)) {
                let end = run.finalNorm[at.end]
                sums[0] += naive.logit(end, example.correct[0]) - naive.logit(end, example.incorrect[0])
                for mover in movers {
                    let row = run.patterns[mover.layer][mover.head][at.end]
                    sums[1] += row[at.io] / Double(movers.count)
                    sums[2] += row[at.s1] / Double(movers.count)
                    sums[3] += row[at.s2] / Double(movers.count)
                }
            }
            return sums.map { $0 / Double(examples.count) }
        }
        let clean = examples.map { naive.run($0.clean) }
        let base = measures(clean)
        let baseline = try #require(checks.baseline)
        #expect(zip([baseline.logitDiff, baseline.ioAttention, baseline.s1Attention, baseline.s2Attention], base).allSatisfy { abs($0 - $1) < 1e-5 })
        for (flip, set) in flipped {
            let corrupted = set.map { naive.run($0.corrupted) }
            for l in 0..<L {
                for h in 0..<H {
                    guard checks.candidates[l * H + h] else {
                        // Below the e′ threshold (odd heads here): not measured.
                        #expect(checks.logitDiffChange[checks.index(flip, l, h)!].isNaN && sInhibition[l, h] <= 0.001)
                        continue
                    }
                    let patched = examples.indices.map { i -> NaiveForward.Run in
                        let end = examples[i].clean.count - 1
                        let step2 = naive.run(examples[i].clean, z: { layer, head, p in
                            layer == l && head == h && p == end ? corrupted[i].z[layer][head][p] : clean[i].z[layer][head][p]
                        })
                        return naive.run(examples[i].clean, query: { layer, head, p in
                            layer > l && movers.contains(.init(layer: layer, head: head)) ? step2.queries[layer][head][p] : nil
                        })
                    }
                    let expected = zip(measures(patched), base).map { ($0 - $1) / $1 }
                    let ours = [checks.logitDiffChange, checks.ioAttentionChange, checks.s1AttentionChange, checks.s2AttentionChange]
                        .map { $0[checks.index(flip, l, h)!] }
                    for (a, b) in zip(ours, expected) { #expect(abs(a - b) < 1e-4 * max(1, abs(b)), "\(flip) \(l).\(h): \(ours) vs \(expected)") }
                }
            }
        }
        let rule = (0..<(L * H)).map { k in
            sInhibition.values[k] > 0.001 && checks.logitDiffChange[k] < 0 && checks.ioAttentionChange[k] < 0 && checks.s1AttentionChange[k] > 0
        }
        #expect(checks.flips.first == .tokenSamePosOpposite && checks.s2i == rule)
    }
}
