import Circuits
import Foundation
import Testing
@testable import Tasks
import Tensor

@Suite struct BehaviourMetricsTests {
    @Test func logitDifferenceAndAccuracy() throws {
        let examples = TaskExamples(metric: .logitDiff, examples: [
            TaskExample(clean: [0, 1], corrupted: [0, 2], correct: [3], incorrect: [1]),
            TaskExample(clean: [0, 1, 2], corrupted: [0, 2, 2], correct: [0], incorrect: [2]),
        ])
        let logits = try Tensor(shape: [2, 4], elements: [0, 1, 2, 5, 0.5, 0, 3, 0] as [Float])
        let summary = try BehaviourMetrics.evaluate(examples, logitsAtPositions: logits)
        #expect(summary.perExample == [4, -2.5])
        #expect(summary.mean == 0.75)
        #expect(summary.accuracy == 0.5)
        #expect(BehaviourMetrics.position(of: examples.examples[1]) == 2)
    }

    @Test func probabilityDifferenceUsesFullSoftmax() throws {
        let examples = TaskExamples(metric: .probDiff, examples: [
            TaskExample(clean: [0], corrupted: [1], correct: [2, 3], incorrect: [0]),
        ])
        let row: [Float] = [1, 2, 3, 0.5, -1]
        let logits = try Tensor(shape: [1, 5], elements: row)
        let z = row.reduce(0) { $0 + exp(Double($1)) }
        let expected = (exp(3.0) + exp(0.5) - exp(1.0)) / z
        let summary = try BehaviourMetrics.evaluate(examples, logitsAtPositions: logits)
        #expect(abs(summary.perExample[0] - expected) < 1e-12)
        #expect(summary.accuracy == 1)
    }

    @Test func shapeAndIDErrors() throws {
        let examples = TaskExamples(metric: .logitDiff, examples: [
            TaskExample(clean: [0], corrupted: [1], correct: [9], incorrect: [0]),
        ])
        #expect(throws: MetricError.self) { try BehaviourMetrics.evaluate(examples, logitsAtPositions: Tensor(zeros: [2, 4])) }
        #expect(throws: MetricError.self) { try BehaviourMetrics.evaluate(examples, logitsAtPositions: Tensor(zeros: [1, 4])) }
    }
}
