import ArgumentParser
import Foundation
import Tasks
import Tokenizer

extension TaskKind: ExpressibleByArgument {}

/// `circuitsweep dataset TASK`: generate a task's examples file once, seeded and hashed.
struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a task dataset (ioi, greater-than, gendered-pronoun, sva) as canonical JSON.",
        discussion: "The file follows schemas/examples.schema.json. Same task, size, seed and tokenizer give a byte-identical file."
    )

    @Argument(help: "Task: \(TaskKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var task: TaskKind

    @Option(help: "Path to tokenizer.json.")
    var tokenizer: String

    @Option(help: "Number of examples (default: the task's paper size).")
    var size: Int?

    @Option(help: "Random seed (default: 42 for ioi, 1234 otherwise).")
    var seed: UInt64?

    @Flag(help: "Do not prepend BOS (id 0) to each prompt.")
    var noBOS = false

    @Option(help: "Output file (.json).")
    var out: String

    func validate() throws {
        if let size, size <= 0 { throw ValidationError("--size must be positive") }
    }

    func run() throws {
        let bpe = try BPETokenizer(contentsOf: URL(fileURLWithPath: tokenizer))
        let dataset = try TaskGenerator(tokenizer: bpe, prependBOS: !noBOS).generate(task, size: size, seed: seed)
        try dataset.canonicalJSON().write(to: URL(fileURLWithPath: out), options: .atomic)
        print("\(task.rawValue): \(dataset.examples.count) examples, seed \(dataset.seed), dataset_sha256 \(dataset.datasetSHA256 ?? "") → \(out)")
    }
}
