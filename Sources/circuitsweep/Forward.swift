import ArgumentParser
import Foundation
import NeoX
import Tensor

/// `circuitsweep forward`: logits of one token batch, written as safetensors.
struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a GPT-NeoX checkpoint on a token batch and write its logits [B, P, V] as float32 safetensors.")

    @OptionGroup var location: ModelOptions

    @Option(help: "JSON file {\"input_ids\": [[…]], \"attention_mask\": [[…]]} (right padding; the mask is optional).")
    var tokens: String

    @Option(help: "Output safetensors file; it holds `logits` [B, P, V] float32.")
    var out: String

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 2

    func validate() throws {
        guard FileManager.default.fileExists(atPath: tokens) else { throw ValidationError("--tokens \(tokens) does not exist") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        let parent = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent) else { throw ValidationError("--out: folder \(parent) does not exist") }
    }

    func run() throws {
        BLAS.setThreadCount(threads)
        let directory = try location.resolveDirectory()
        let batch = try TokenBatch(contentsOf: URL(fileURLWithPath: tokens))
        let summary = try LogitsExport.run(modelDirectory: directory, batch: batch, output: URL(fileURLWithPath: out))
        print("model: \(summary.modelDirectory.path)")
        print("content sha256: \(summary.contentHash)")
        print("logits \(summary.shape) max|logit| \(summary.maxAbsLogit) -> \(out)")
        print(String(format: "load %.3f s, forward %.3f s", summary.loadSeconds, summary.forwardSeconds))
    }
}
