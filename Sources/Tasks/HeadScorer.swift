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

    /// Computes `kinds`. `tokenizer` is needed for successor and copy scores.
    /// - Throws: `HeadScoreError` (missing tokenizer, too few single tokens, forward failures) or
    ///   `TaskError` from generating the IOI prompts.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func scores(_ kinds: [HeadScoreKind], tokenizer: BPETokenizer?) throws -> [HeadScoreKind: HeadScoreGrid] {
        var result: [HeadScoreKind: HeadScoreGrid] = [:]
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
        if !wanted.isDisjoint(with: [.copy, .negativeCopy]) {
            guard let tokenizer else { throw HeadScoreError.badInput("the copy score needs a tokenizer (IOI prompts)") }
            let ioi = try TaskGenerator(tokenizer: tokenizer, prependBOS: options.ioiPrependBOS)
                .generate(.ioi, size: options.ioiSize, seed: options.ioiSeed)
            let sequences = ioi.examples.map(\.clean)
            let sites = try CopyScores.ioiSites(ioi.examples)
            // One forward per prompt, shared by both scores.
            var residuals: [[Int]: Tensor] = [:]
            for sequence in sequences where residuals[sequence] == nil {
                residuals[sequence] = try residualAfterBlock0(sequence)
            }
            let residual: CopyScores.ResidualSource = { tokens in
                guard let cached = residuals[tokens] else { throw HeadScoreError.badInput("no residual for a copy-score prompt") }
                return cached
            }
            let both = try CopyScores.bothSigns(weights: ScoreWeights(model: model), sequences: sequences, sites: sites, residuals: residual)
            if wanted.contains(.copy) { result[.copy] = both.copy }
            if wanted.contains(.negativeCopy) { result[.negativeCopy] = both.negative }
        }
        return result
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
