import Foundation
import Tensor

/// A right-padded batch of token ids, as HF tokenizers return it: `{"input_ids": [[…]],
/// "attention_mask": [[…]]}` (the mask is optional; absent means every position is real).
public struct TokenBatch: Sendable, Equatable, Decodable {
    public var inputIds: [[Int]]
    public var attentionMask: [[Int]]?

    enum CodingKeys: String, CodingKey {
        case inputIds = "input_ids"
        case attentionMask = "attention_mask"
    }

    public init(inputIds: [[Int]], attentionMask: [[Int]]?) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask
    }

    /// Reads and validates a tokens JSON file.
    /// - Throws: `TokenBatchError` naming the file and the offending row.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenBatchError(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        do {
            self = try JSONDecoder().decode(TokenBatch.self, from: data)
        } catch let error as DecodingError {
            throw TokenBatchError(file: url.path, reason: error.readableDescription)
        }
        try validate(file: url.path)
    }

    /// Checks the batch is non-empty and rectangular, ids are ≥ 0, and the mask is 0/1 of the same shape.
    public func validate(file: String) throws {
        guard let width = inputIds.first?.count, width > 0 else {
            throw TokenBatchError(file: file, reason: "input_ids is empty; expected [[id, …], …]")
        }
        for (row, ids) in inputIds.enumerated() {
            guard ids.count == width else {
                throw TokenBatchError(file: file, reason: "input_ids row \(row) has \(ids.count) ids, row 0 has \(width); pad every row to the same length")
            }
            if let bad = ids.firstIndex(where: { $0 < 0 }) {
                throw TokenBatchError(file: file, reason: "input_ids[\(row)][\(bad)] is negative")
            }
        }
        if let attentionMask {
            guard attentionMask.count == inputIds.count, attentionMask.allSatisfy({ $0.count == width }) else {
                throw TokenBatchError(file: file, reason: "attention_mask must have the shape of input_ids [\(inputIds.count), \(width)]")
            }
            for (row, mask) in attentionMask.enumerated() {
                guard mask.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                    throw TokenBatchError(file: file, reason: "attention_mask row \(row) holds values other than 0 and 1")
                }
                guard mask.contains(1) else {
                    throw TokenBatchError(file: file, reason: "attention_mask row \(row) has no real token")
                }
            }
        }
    }
}

/// A tokens file that cannot be used.
public struct TokenBatchError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String
    public var description: String { "\(file): \(reason)" }
}

/// `circuitsweep forward`: load a checkpoint, run one batch, write `logits` [B, P, V] as F32
/// safetensors. The header metadata records the model folder and its content hash.
public enum LogitsExport {
    /// What was run, for the CLI to print.
    public struct Summary: Sendable {
        public var modelDirectory: URL
        public var contentHash: String
        public var shape: [Int]
        public var maxAbsLogit: Float
        public var loadSeconds: Double
        public var forwardSeconds: Double
    }

    /// Loads the model in `directory`, runs `batch` and writes the logits to `output`.
    /// - Throws: `CheckpointError`, `NeoXModelError` (token ids outside the vocabulary, too long).
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func run(modelDirectory directory: URL, batch: TokenBatch, output: URL) throws -> Summary {
        let start = DispatchTime.now().uptimeNanoseconds
        let (model, hash) = try prepareModel(directory: directory)
        let loaded = DispatchTime.now().uptimeNanoseconds
        let logits = try model.logits(inputIds: batch.inputIds, attentionMask: batch.attentionMask)
        let done = DispatchTime.now().uptimeNanoseconds
        var writer = SafetensorsWriter()
        try writer.add("logits", logits)
        writer.metadata = ["model": directory.path, "content_sha256": hash, "format": "pt"]
        try writer.write(to: output)
        return Summary(
            modelDirectory: directory, contentHash: hash, shape: logits.shape,
            maxAbsLogit: logits.storage.reduce(0) { max($0, abs($1)) },
            loadSeconds: Double(loaded - start) / 1e9, forwardSeconds: Double(done - loaded) / 1e9)
    }

    /// Loads a checkpoint and moves its weights into the model tensor by tensor, so the weights
    /// are never resident twice.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func prepareModel(directory: URL) throws -> (model: NeoXModel, contentHash: String) {
        let checkpoint = try NeoXCheckpoint.load(from: directory)
        let hash = checkpoint.contentHash
        return (try NeoXModel(checkpoint: consume checkpoint), hash)
    }
}
