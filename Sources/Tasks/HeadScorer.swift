import Circuits
import NeoX
import Tensor
import Tokenizer

/// Computes the head scores of one checkpoint (spec/paper-pipeline.md §5; schemas/head-scores.md).
///
/// Attention-pattern and residual-based scores run the NeoX forward; the successor score reads
/// weights only. Every input is seeded, so a checkpoint's scores depend only on its weights, the
/// tokenizer and `Options`.
public struct HeadScorer: Sendable {
    public struct Options: Sendable, Equatable {
        /// Seed of the repeated random token sequences.
        public var repeatedTokenSeed: UInt64 = 0
        /// Sequences and half-length of the repeated-token input (paper: 2 × 100).
        public var repeatedTokenBatch = 2
        public var repeatedTokenHalf = 100
        /// Size and seed of the IOI dataset of the copy scores (paper: 70 prompts, seed 42, no BOS).
        public var ioiSize = 70
        public var ioiSeed: UInt64 = 42
        public var ioiPrependBOS = false
        /// CSPA corpus: token sequences, BOS first (paper: OpenWebText-10k shuffled with seed 6,
        /// documents over 1000 tokens). Nil: the IOI prompts (`ioiSize`, `ioiSeed`) with BOS, all
        /// averaged for the mean ablation and the first `cspaEvaluationCount` evaluated.
        public var cspaCorpus: [[Int]]? = nil
        /// With a corpus: the first `cspaReferenceCount` sequences give the mean ablation, the first
        /// `cspaEvaluationCount` are evaluated, all cut to `cspaLength` tokens (paper: 100, 17, 61).
        public var cspaReferenceCount = 100
        public var cspaEvaluationCount = 17
        public var cspaLength = 61
        /// IOI prompts per path-patching batch (memory only).
        public var pathPatchingChunk = 16
        /// Seed of the X/Y names of the S-inhibition flips (`IOIFlip.flipped`).
        public var s2iFlipSeed: UInt64 = 42

        public init() {}
    }

    public let config: NeoXConfig
    public let model: NeoXModel
    public let options: Options

    /// Prepares a forward model from the weights; the caller keeps `weights`, so they are held
    /// twice while both live. Callers that can give the weights up use `init(model:options:)`
    /// with `NeoXModel(checkpoint:)`.
    /// - Throws: `NeoXModelError` if the weights do not fit the config.
    public init(config: NeoXConfig, weights: NeoXWeights, options: Options = Options()) throws {
        self.init(model: try NeoXModel(config: config, weights: weights), options: options)
    }

    /// Scores a prepared model; every score, including the weight-based ones, reads the model's
    /// own buffers, so the weights are held once.
    public init(model: NeoXModel, options: Options = Options()) {
        self.config = model.config
        self.model = model
        self.options = options
    }

    /// Token ids of the repeated-token input: uniform in [100, 20000) as in the paper, narrowed to
    /// [1, V) for vocabularies smaller than 20,000 + 100.
    public var repeatedTokenRange: Range<Int> {
        config.vocabSize >= 20_100 ? 100..<20_000 : 1..<config.vocabSize
    }

    /// Half-length of the repeated-token sequences: `options.repeatedTokenHalf`, shortened to
    /// fit `max_position_embeddings` (2·half positions).
    public var repeatedTokenHalf: Int {
        min(options.repeatedTokenHalf, config.maxPositionEmbeddings / 2)
    }

    /// Which heads the S-inhibition flip checks measure (`S2IFlipChecks`).
    public enum S2ICandidates: Sendable, Equatable {
        /// No flip checks (only the [L, H] scores).
        case none
        /// Every head (no circuit available).
        case allHeads
        /// The senders of these in-circuit edges ("{sender}->{receiver}") that reach a name
        /// mover's query: the unit's IOI circuit.
        case circuit(edges: [String])
    }

    /// The scores of `scores(_:tokenizer:)` and the S-inhibition flip checks.
    public struct Report: Sendable {
        public var grids: [HeadScoreKind: HeadScoreGrid]
        /// Present when `.sInhibition` was asked for with candidates other than `.none`.
        public var s2iChecks: S2IFlipChecks?

        public init(grids: [HeadScoreKind: HeadScoreGrid], s2iChecks: S2IFlipChecks? = nil) {
            self.grids = grids
            self.s2iChecks = s2iChecks
        }
    }

    /// Computes `kinds`. `tokenizer` is needed for every score but the repeated-token ones.
    /// - Throws: `HeadScoreError` (missing tokenizer, too few single tokens, forward failures) or
    ///   `TaskError` from generating the IOI prompts.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func scores(_ kinds: [HeadScoreKind], tokenizer: BPETokenizer?) throws -> [HeadScoreKind: HeadScoreGrid] {
        try report(kinds, tokenizer: tokenizer, s2iCandidates: .none).grids
    }

    /// Computes `kinds` and, when `s_inhibition` is among them and `s2iCandidates` is not `.none`,
    /// the S-inhibition flip checks of those candidates (5 flips × 2 partial forwards per candidate
    /// on the IOI prompts).
    /// - Throws: as `scores(_:tokenizer:)`.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func report(_ kinds: [HeadScoreKind], tokenizer: BPETokenizer?, s2iCandidates: S2ICandidates) throws -> Report {
        var result: [HeadScoreKind: HeadScoreGrid] = [:]
        var s2iChecks: S2IFlipChecks?
        let wanted = Set(kinds)
        if !wanted.isDisjoint(with: [.induction, .previousToken, .duplicateToken]) {
            let sequences = RepeatedTokenScores.sequences(
                seed: options.repeatedTokenSeed, batch: options.repeatedTokenBatch,
                half: repeatedTokenHalf, tokenRange: repeatedTokenRange)
            let scores = try RepeatedTokenScores.scores(
                layers: config.numLayers, heads: config.numHeads, sequences: sequences, patterns: patterns)
            if wanted.contains(.induction) { result[.induction] = scores.induction }
            if wanted.contains(.previousToken) { result[.previousToken] = scores.previousToken }
            if wanted.contains(.duplicateToken) { result[.duplicateToken] = scores.duplicateToken }
        }
        if wanted.contains(.successor) {
            guard let tokenizer else { throw HeadScoreError.badInput("the successor score needs a tokenizer") }
            result[.successor] = try SuccessorScores.scores(model: model, tokenizer: tokenizer)
        }
        if !wanted.isDisjoint(with: [.copy, .negativeCopy, .directEffect, .sInhibition]) {
            guard let tokenizer else { throw HeadScoreError.badInput("the copy, direct-effect and S-inhibition scores need a tokenizer (IOI prompts)") }
            let examples = try TaskGenerator(tokenizer: tokenizer, prependBOS: options.ioiPrependBOS)
                .generate(.ioi, size: options.ioiSize, seed: options.ioiSeed).examples
            var copy: HeadScoreGrid?
            if !wanted.isDisjoint(with: [.copy, .negativeCopy, .sInhibition]) {
                let both = try copyScores(examples)
                copy = both.copy
                if wanted.contains(.copy) { result[.copy] = both.copy }
                if wanted.contains(.negativeCopy) { result[.negativeCopy] = both.negative }
            }
            if !wanted.isDisjoint(with: [.directEffect, .sInhibition]) {
                let patching = examples.map { TaskExample(clean: $0.clean, corrupted: $0.corrupted, correct: $0.correct, incorrect: $0.incorrect) }
                let direct = try IOIPathPatching.effects(model: model, examples: patching, receiver: .finalResidual,
                                                         chunkSize: options.pathPatchingChunk).effects
                if wanted.contains(.directEffect) { result[.directEffect] = direct }
                if wanted.contains(.sInhibition), let copy {
                    let movers = IOIPathPatching.nameMovers(copy: copy, directEffect: direct)
                    let sInhibition = try IOIPathPatching.sInhibition(
                        model: model, examples: patching, nameMovers: movers, chunkSize: options.pathPatchingChunk)
                    result[.sInhibition] = sInhibition
                    if s2iCandidates != .none {
                        s2iChecks = try flipChecks(patching, nameMovers: movers, sInhibition: sInhibition,
                                                   candidates: s2iCandidates, tokenizer: tokenizer)
                    }
                }
            }
        }
        if wanted.contains(.copySuppression) {
            guard let tokenizer else { throw HeadScoreError.badInput("the copy-suppression score needs a tokenizer (function tokens)") }
            let functionTokens = CopySuppressionScores.functionTokens { tokenizer.singleTokenID($0) ?? tokenizer.id(ofToken: $0) }
            let sequences: [[Int]], reference: [[Int]]
            if let corpus = options.cspaCorpus {
                let cut = corpus.map { Array($0.prefix(options.cspaLength)) }
                guard cut.count >= max(options.cspaEvaluationCount, options.cspaReferenceCount) else {
                    throw HeadScoreError.badInput("the CSPA corpus has \(cut.count) sequences; \(max(options.cspaEvaluationCount, options.cspaReferenceCount)) needed")
                }
                sequences = Array(cut.prefix(options.cspaEvaluationCount))
                reference = Array(cut.prefix(options.cspaReferenceCount))
            } else {
                let prompts = try TaskGenerator(tokenizer: tokenizer, prependBOS: true)
                    .generate(.ioi, size: options.ioiSize, seed: options.ioiSeed).examples.map(\.clean)
                sequences = Array(prompts.prefix(options.cspaEvaluationCount))
                reference = prompts
            }
            result[.copySuppression] = try CopySuppressionScores.scores(
                model: model, sequences: sequences, reference: reference, functionTokens: functionTokens)
        }
        return Report(grids: result, s2iChecks: s2iChecks)
    }

    /// The flip checks of `candidates` on the IOI prompts `examples`.
    func flipChecks(
        _ examples: [TaskExample], nameMovers: [PathPatcher.HeadIndex], sInhibition: HeadScoreGrid,
        candidates: S2ICandidates, tokenizer: BPETokenizer
    ) throws -> S2IFlipChecks {
        let names = try TaskGenerator(tokenizer: tokenizer, prependBOS: options.ioiPrependBOS).ioiNameIDs()
        let flipped = try IOIFlip.allCases.map { ($0, try $0.flipped(examples, names: names, seed: options.s2iFlipSeed)) }
        let heads: Set<PathPatcher.HeadIndex>? = switch candidates {
        case let .circuit(edges): IOIPathPatching.s2iCandidates(circuitEdges: edges, nameMovers: nameMovers)
        case .allHeads, .none: nil
        }
        return try IOIPathPatching.flipChecks(
            model: model, examples: examples, flipped: flipped, nameMovers: nameMovers, candidates: heads,
            sInhibition: sInhibition, chunkSize: options.pathPatchingChunk)
    }

    /// Copy and negative copy scores on IOI prompts (one forward per distinct prompt).
    func copyScores(_ examples: [TaskDataset.Example]) throws -> (copy: HeadScoreGrid, negative: HeadScoreGrid) {
        let sequences = examples.map(\.clean)
        let sites = try CopyScores.ioiSites(examples)
        var residuals: [[Int]: Tensor] = [:]
        for sequence in sequences where residuals[sequence] == nil {
            residuals[sequence] = try residualAfterBlock0(sequence)
        }
        let residual: CopyScores.ResidualSource = { tokens in
            guard let cached = residuals[tokens] else { throw HeadScoreError.badInput("no residual for a copy-score prompt") }
            return cached
        }
        return try CopyScores.bothSigns(weights: ScoreWeights(model: model), sequences: sequences, sites: sites, residuals: residual)
    }

    /// Attention patterns `[layer][head]` → [P, P] of one sequence.
    func patterns(_ tokens: [Int]) throws -> [[Tensor]] {
        do { return try model.attentionPatterns(tokens: tokens) } catch { throw HeadScoreError.forwardFailed("\(error)") }
    }

    /// The residual stream after block 0 ([P, d]) of one sequence.
    func residualAfterBlock0(_ tokens: [Int]) throws -> Tensor {
        do {
            return try model.hiddenStates(inputIds: [tokens]).residuals[1].reshaped([tokens.count, config.hiddenSize])
        } catch {
            throw HeadScoreError.forwardFailed("\(error)")
        }
    }
}
