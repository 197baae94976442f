import Foundation
import Tensor

/// `circuitsweep bench forward`: the forward pass on random weights of an exact Pythia shape.
///
/// Measures what `Benchmarks/torch_forward.py` measures for HF `GPTNeoXForCausalLM`: one forward of
/// a [batch, length] batch without padding, with the unembedding at each row's last position only
/// (torch: `logits_to_keep=1`) or at every position (full [B, P, V] logits), median over repetitions.
public enum ForwardBenchmark {
    public struct Result: Sendable {
        public var shape: PythiaShape
        public var batch: Int
        public var length: Int
        public var parameterCount: Int
        public var repetitions: Int
        public var logitRows: NeoXModel.LogitRows
        public var medianSeconds: Double
        public var gflops: Double
        /// Peak RSS of the process (`getrusage`) after building the model, before the forwards:
        /// the random `NeoXWeights` are moved into the model tensor by tensor, so this is about
        /// the weights plus their largest tensor (the embedding).
        public var buildPeakResidentBytes: Int
        /// Peak RSS during the timed forwards only (Linux: `VmHWM` reset after building, which
        /// also resets `getrusage`'s figure); nil where the reset is not possible.
        public var forwardPeakResidentBytes: Int?

        public var tokensPerSecond: Double { Double(batch * length) / medianSeconds }
        public var weightBytes: Int { parameterCount * MemoryLayout<Float>.size }
    }

    /// Parameters of a GPT-NeoX config: 2·V·d + L(12d² + 13d) + 2d for d_mlp = 4d (spec §1.1),
    /// computed from the actual tensor shapes.
    public static func parameterCount(_ config: NeoXConfig) -> Int {
        NeoXTensorName.expectedShapes(config, includeEmbedOut: true).values.reduce(0) { $0 + $1.reduce(1, *) }
    }

    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func run(
        shape: PythiaShape, batch: Int = 8, length: Int = 16, logitRows: [NeoXModel.LogitRows] = [.last],
        budgetSeconds: Double = 3
    ) -> [Result] {
        let model = NeoXModel.random(shape: shape)
        let buildPeak = ProcessMemory.peakResidentBytes()
        return logitRows.map { rows in
            let canReset = ProcessMemory.resetPeakResident()
            let timing = model.timeForward(batch: batch, length: length, logitRows: rows, budgetSeconds: budgetSeconds)
            return Result(
                shape: shape, batch: batch, length: length, parameterCount: parameterCount(shape.config),
                repetitions: timing.repetitions, logitRows: rows, medianSeconds: timing.medianSeconds,
                gflops: timing.gflops, buildPeakResidentBytes: buildPeak,
                forwardPeakResidentBytes: canReset ? ProcessMemory.peakResidentBytes() : nil)
        }
    }
}
