import Circuits
import NeoX
import Tensor

/// Task behaviour of a model: one forward pass per batch on the clean prompts, metrics at each
/// example's last clean token (spec/paper-pipeline.md §2.5).
public enum TaskBehaviour {
    /// Runs `model` on the clean prompts (right-padded with id 0 and masked, HF convention) and
    /// evaluates the task metric at each example's metric position.
    /// - Throws: `HeadScoreError.forwardFailed` if the forward rejects the input, `MetricError`
    ///   for answers outside the vocabulary.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func evaluate(model: NeoXModel, examples: TaskExamples, batchSize: Int = 16) throws -> BehaviourMetrics.Summary {
        let n = examples.examples.count
        var logits = Tensor(zeros: [n, model.vocabSize])
        var start = 0
        while start < n {
            let batch = Array(examples.examples[start..<min(n, start + max(batchSize, 1))])
            let width = batch.map(\.clean.count).max() ?? 0
            let ids = batch.map { $0.clean + [Int](repeating: 0, count: width - $0.clean.count) }
            let mask = batch.map { [Int](repeating: 1, count: $0.clean.count) + [Int](repeating: 0, count: width - $0.clean.count) }
            let rows: Tensor
            do {
                rows = try model.logits(inputIds: ids, attentionMask: mask, atPositions: batch.map(BehaviourMetrics.position(of:)))
            } catch {
                throw HeadScoreError.forwardFailed("\(error)")
            }
            let v = model.vocabSize
            for b in 0..<batch.count {
                for j in 0..<v { logits.storage[(start + b) * v + j] = rows.storage[b * v + j] }
            }
            start += batch.count
        }
        return try BehaviourMetrics.evaluate(examples, logitsAtPositions: logits)
    }
}
