import Circuits
import Tokenizer

/// Generates the task datasets of spec/paper-pipeline.md §2, deterministically from
/// (task, size, seed, tokenizer).
///
/// Token ids start with BOS (id 0) when `prependBOS` is true, as EAP-IG's `tokenize_plus` feeds
/// the model (spec/eap-ig.md §1.6); the Tigges IOI driver used no BOS (§2.1), which
/// `prependBOS: false` reproduces. Prompts end at the metric position (the last token); answers are
/// single tokens. Clean and corrupted prompts of one example always have the same token count.
public struct TaskGenerator: Sendable {
    public let tokenizer: BPETokenizer
    public let prependBOS: Bool
    /// The BOS id (`<|endoftext|>`).
    public static let bosID = 0

    public init(tokenizer: BPETokenizer, prependBOS: Bool = true) {
        self.tokenizer = tokenizer
        self.prependBOS = prependBOS
    }

    /// Generates `size` examples of `task` (default: the task's default size and seed).
    /// - Throws: `TaskError` when the tokenizer cannot supply single-token words or answers.
    public func generate(_ task: TaskKind, size: Int? = nil, seed: UInt64? = nil) throws -> TaskDataset {
        let size = size ?? task.defaultSize
        let seed = seed ?? task.defaultSeed
        guard size > 0 else { throw TaskError.badSize(task: task, size: size, reason: "size must be positive") }
        var random = SeededRandom(seed: seed)
        let examples: [TaskDataset.Example]
        switch task {
        case .ioi: examples = try IOIGenerator(context: self).generate(size: size, random: &random)
        case .greaterThan: examples = try GreaterThanGenerator(context: self).generate(size: size, random: &random)
        case .genderedPronoun: examples = try GenderedPronounGenerator(context: self).generate(size: size, random: &random)
        case .sva: examples = try SVAGenerator(context: self).generate(size: size, random: &random)
        }
        let dataset = TaskDataset(
            formatVersion: TaskDataset.currentFormatVersion,
            generatorVersion: TaskDataset.currentGeneratorVersion,
            task: task, metric: task.metric, size: size, seed: seed, prependBOS: prependBOS,
            tokenizerSHA256: tokenizer.sha256, datasetSHA256: nil, examples: examples)
        return try dataset.hashed()
    }

    /// Token ids of the IOI name pool (" " + name, single tokens only), in the pool's order: the
    /// names the IOI prompts are drawn from, and the X/Y names of the S-inhibition flips.
    /// - Throws: `TaskError.notEnoughSingleTokens` when fewer than 10 names are single tokens.
    public func ioiNameIDs() throws -> [Int] {
        try singleTokenWords(IOIGenerator.names, task: .ioi, what: "IOI names", needed: 10).map(\.id)
    }

    // MARK: Helpers shared by the generators

    /// Token ids of a prompt, BOS first when configured.
    func ids(_ text: String) -> [Int] {
        (prependBOS ? [Self.bosID] : []) + tokenizer.encode(text)
    }

    /// The id of a word that must be one token.
    func singleToken(_ text: String, task: TaskKind) throws -> Int {
        guard let id = tokenizer.singleTokenID(text) else { throw TaskError.notSingleToken(task: task, text: text) }
        return id
    }

    /// The words of `pool` that encode to one token, with their ids; throws if fewer than `needed`.
    func singleTokenWords(_ pool: [String], prefix: String = " ", task: TaskKind, what: String, needed: Int) throws -> [(word: String, id: Int)] {
        let found = pool.compactMap { word in tokenizer.singleTokenID(prefix + word).map { (word, $0) } }
        guard found.count >= needed else {
            throw TaskError.notEnoughSingleTokens(task: task, what: what, found: found.count, needed: needed)
        }
        return found
    }

    /// An example from its texts; checks equal token lengths.
    func example(task: TaskKind, clean: String, corrupted: String, correct: [Int], incorrect: [Int]) throws -> TaskDataset.Example {
        let cleanIDs = ids(clean), corruptedIDs = ids(corrupted)
        guard cleanIDs.count == corruptedIDs.count else {
            throw TaskError.lengthMismatch(task: task, clean: clean, corrupted: corrupted)
        }
        return TaskDataset.Example(clean: cleanIDs, corrupted: corruptedIDs, correct: correct, incorrect: incorrect,
                                   cleanText: clean, corruptedText: corrupted)
    }
}
