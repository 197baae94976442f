import Foundation
import NeoX
import Tensor

/// The `bench attribute` workload: EAP-IG-inputs on random weights of a Pythia shape, random
/// prompts, and a patched evaluation of a circuit of the top-|score| edges.
public enum AttributionBenchmark {
    public struct Report: Sendable {
        public let shape: PythiaShape
        public let examples: Int, tokens: Int, steps: Int
        /// Position of the first clean/corrupted difference in every example.
        public let firstDifference: Int
        public let attributionSeconds: Double
        /// Process CPU seconds (all threads) spent in the attribution.
        public let attributionCPUSeconds: Double
        /// Nominal matmul FLOPs of the attribution without prefix sharing: (2+m) forwards, m
        /// backwards to activations, and the score contraction, over all T = examples × tokens rows.
        public let attributionFlops: Double
        public var attributionGflops: Double { attributionFlops / attributionSeconds / 1e9 }
        public let circuitEdges: Int
        /// One-off cost of caching the clean and corrupted runs for circuit evaluation.
        public let evaluatorSetupSeconds: Double
        /// Median time of one patched evaluation of the circuit.
        public let circuitEvaluationSeconds: Double
        /// Mean process CPU seconds of one patched evaluation.
        public let circuitEvaluationCPUSeconds: Double
        public let forward: NeoXModel.ForwardTiming
    }

    /// Runs the workload. Blocking; `progress` receives attribution progress.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public static func run(
        shape: PythiaShape, examples: Int = 8, tokens: Int = 16, steps: Int = 30, circuitEdges: Int = 200,
        firstDifference: Int? = nil, maxRowsPerPass: Int = 1024, progress: ((AttributionProgress) -> Void)? = nil
    ) throws(AttributionError) -> Report {
        let model = NeoXModel.random(shape: shape)
        var state: UInt64 = 2024
        func token() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % model.vocabSize
        }
        let first = min(max(firstDifference ?? tokens / 2, 1), tokens - 1)
        let list = (0..<examples).map { _ -> TaskExample in
            let clean = [0] + (1..<tokens).map { _ in token() }
            var corrupted = clean
            corrupted[first] = (clean[first] + 1) % model.vocabSize
            corrupted[max(first, tokens - 2)] = (clean[max(first, tokens - 2)] + 7) % model.vocabSize
            return TaskExample(clean: clean, corrupted: corrupted, correct: [token()], incorrect: [token()])
        }
        let task = TaskExamples(metric: .logitDiff, examples: list)
        let options = AttributionOptions(method: .eapIGInputs(steps: steps), batchSize: examples,
                                         maxRowsPerPass: maxRowsPerPass)
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = cpuSeconds()
        let scores = try EdgeAttribution(model: model).scores(examples: task, options: options, progress: progress)
        let attributionSeconds = seconds(since: start)
        let attributionCPU = cpuSeconds() - cpuStart

        let L = Double(model.layerCount), d = Double(model.d)
        let T = Double(examples * tokens), S2 = Double(examples * tokens * tokens), m = Double(steps)
        let g = model.circuitGraph
        let flops = (2 + m) * (24 * L * d * d * T + 4 * L * d * S2) + m * (24 * L * d * d * T + 8 * L * d * S2)
            + 2 * Double(g.senderCount * g.receiverCount) * T * d + 2 * L * T * d * d

        // Circuit: the top-|score| edges.
        let vector = scores.edgeVector
        let order = vector.indices.sorted { abs(vector[$0]) > abs(vector[$1]) }
        var mask = [Bool](repeating: false, count: vector.count)
        for i in order.prefix(circuitEdges) { mask[i] = true }
        let setupStart = DispatchTime.now().uptimeNanoseconds
        let evaluator = try PatchedEvaluator(model: model, examples: task)
        let setup = seconds(since: setupStart)
        var times: [Double] = []
        let evaluationCPUStart = cpuSeconds()
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try evaluator.metrics(edgeMask: mask)
            times.append(seconds(since: t0))
        }
        let evaluationCPU = (cpuSeconds() - evaluationCPUStart) / 5
        times.sort()
        let forward = model.timeForward(batch: examples, length: tokens, budgetSeconds: 1)
        return Report(shape: shape, examples: examples, tokens: tokens, steps: steps,
                      firstDifference: first, attributionSeconds: attributionSeconds,
                      attributionCPUSeconds: attributionCPU, attributionFlops: flops,
                      circuitEdges: min(circuitEdges, vector.count), evaluatorSetupSeconds: setup,
                      circuitEvaluationSeconds: times[times.count / 2], circuitEvaluationCPUSeconds: evaluationCPU,
                      forward: forward)
    }

    /// CPU time of the whole process (all threads).
    private static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    private static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
