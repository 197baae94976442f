import Foundation
import Testing
@testable import Circuits

@Suite struct TaskExamplesTests {
    private func decode(_ json: String) throws(TaskExamplesError) -> TaskExamples {
        try TaskExamples.decode(Data(json.utf8), file: "ex.json")
    }

    @Test func decodesAValidFile() throws {
        let examples = try decode(#"{"metric":"prob_diff","examples":[{"clean":[0,5,6],"corrupted":[0,7,6],"correct":[3,4],"incorrect":[2]}]}"#)
        #expect(examples.metric == .probDiff)
        #expect(examples.examples == [TaskExample(clean: [0, 5, 6], corrupted: [0, 7, 6], correct: [3, 4], incorrect: [2])])
    }

    @Test func reportsEachBadInputWithFileAndIndex() {
        let ok = #"{"clean":[0,1],"corrupted":[0,2],"correct":[1],"incorrect":[2]}"#
        #expect(throws: TaskExamplesError.unknownMetric(file: "ex.json", metric: "kl")) {
            try decode(#"{"metric":"kl","examples":[\#(ok)]}"#)
        }
        #expect(throws: TaskExamplesError.empty(file: "ex.json")) { try decode(#"{"metric":"logit_diff","examples":[]}"#) }
        do {
            _ = try decode(#"{"metric":"logit_diff","examples":[\#(ok),{"clean":[0,1,2],"corrupted":[0,2],"correct":[1],"incorrect":[2]}]}"#)
            Issue.record("mismatched lengths accepted")
        } catch {
            guard case let .invalidExample(file, index, reason) = error else { Issue.record("\(error)"); return }
            #expect(file == "ex.json" && index == 1 && reason.contains("equal length"))
        }
        #expect(throws: TaskExamplesError.self) { try decode("{not json") }
        #expect(throws: TaskExamplesError.self) { try decode(#"{"metric":"logit_diff","examples":[{"clean":[0,-1],"corrupted":[0,2],"correct":[1],"incorrect":[2]}]}"#) }
    }

    @Test func validationAgainstModelNamesTheExample() throws {
        let examples = TaskExamples(metric: .logitDiff, examples: [
            TaskExample(clean: [0, 1], corrupted: [0, 2], correct: [1], incorrect: [2]),
            TaskExample(clean: [0, 1], corrupted: [0, 99], correct: [1], incorrect: [2]),
        ])
        #expect(throws: TaskExamplesError.invalidExample(file: "f", index: 1,
            reason: "corrupted token id 99 is not below the model's vocabulary size 96")) {
            try examples.validate(vocabularySize: 96, contextLength: 64, file: "f")
        }
        #expect(throws: TaskExamplesError.self) { try examples.validate(vocabularySize: 200, contextLength: 1, file: "f") }
        try examples.validate(vocabularySize: 100, contextLength: 64, file: "f")
    }
}
