import ArgumentParser
import Foundation
import NeoX

/// `--model/--revision/--cache-dir`: where a checkpoint is, shared by every command that loads one.
struct ModelOptions: ParsableArguments {
    @Option(help: "A model folder (config.json + weights), a Hugging Face cache folder models--ORG--NAME, or a repo id ORG/NAME in the cache.")
    var model: String

    @Option(help: "Revision in a Hugging Face cache: a branch (main, step143000), a tag or a commit hash. Default: main.")
    var revision: String?

    @Option(help: "Hugging Face cache root for repo ids (default: HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub).")
    var cacheDir: String?

    /// The folder holding the checkpoint's config.json and weights.
    func resolveDirectory() throws -> URL {
        try ModelLocator.resolve(model: model, revision: revision, cacheRoot: cacheDir.map { URL(fileURLWithPath: $0) })
    }
}

/// Progress lines on standard error: rewritten in place on a terminal, one line per update otherwise.
final class TerminalProgress {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastPrint = Date.distantPast
    private var pendingLine = false

    func update(_ text: String, force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastPrint) >= (isTerminal ? 0.1 : 5) else { return }
        lastPrint = now
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            pendingLine = true
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    func finish() {
        if pendingLine { FileHandle.standardError.write(Data("\n".utf8)) }
        pendingLine = false
    }
}
