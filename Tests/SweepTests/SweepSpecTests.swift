import Testing
@testable import Sweep

@Suite struct SweepSpecTests {
    static let valid = """
        version: 1
        results: out
        revisions: pythia-154
        models:
          - name: pythia-70m
            hf_cache: /data/hub
            repo: EleutherAI/pythia-70m
          - name: toy-s
            folder: models/toy-s
            revisions: [step0, "step1000..step3000 every 1000", main]
        tasks:
          - {name: ioi, size: 70, seed: 42}
          - {name: greater-than, size: 200}
        analyses:
          - method: eap-ig-inputs
            steps: 30
            circuit: {threshold: 0.8, start: 25, end: 1600, step: 25}
            head_scores: [successor, induction, induction]
        retry: {max_attempts: 4, backoff_seconds: 2, max_backoff_seconds: 60}
        lease: {seconds: 30, heartbeat_seconds: 3}
        speculation: {enabled: false, after_seconds: 10}
        priority: in-order
        """

    @Test func parsesEveryField() throws {
        let spec = try SweepSpec.parse(yaml: Self.valid, file: "sweep.yaml")
        #expect(spec.results == "out")
        #expect(spec.revisions.count == 154)
        #expect(spec.models[0].location == .huggingFaceCache(root: "/data/hub", repo: "EleutherAI/pythia-70m"))
        #expect(spec.models[1].location == .folder(path: "models/toy-s"))
        #expect(spec.models[1].revisions?.map(\.name) == ["step0", "step1000", "step2000", "step3000", "main"])
        #expect(spec.tasks == [TaskSpec(name: "ioi", size: 70, seed: 42), TaskSpec(name: "greater-than", size: 200, seed: 0)])
        let a = try #require(spec.analyses.first)
        #expect(a.name == "eap-ig-inputs" && a.method == .eapIGInputs && a.steps == 30)
        #expect(a.circuit == CircuitSearch(threshold: 0.8, start: 25, end: 1600, step: 25))
        #expect(a.headScores == [.induction, .successor])
        #expect(spec.retry == RetryPolicy(maxAttempts: 4, backoffSeconds: 2, maxBackoffSeconds: 60))
        #expect(spec.lease == LeasePolicy(seconds: 30, heartbeatSeconds: 3))
        #expect(spec.speculation == SpeculationPolicy(enabled: false, afterSeconds: 10))
        #expect(spec.priority == .inOrder)
    }

    func error(_ yaml: String) -> SweepSpecError? {
        do {
            _ = try SweepSpec.parse(yaml: yaml, file: "sweep.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func unknownKeyHasPositionAndSuggestion() throws {
        let yaml = """
            models:
              - {name: m, folder: f}
            revisons: [step1]
            tasks: [{name: t, size: 1}]
            analyses: [{method: noop}]
            """
        let e = try #require(error(yaml))
        #expect(e.description == "sweep.yaml:3:1: unknown key 'revisons' in the sweep (did you mean 'revisions'?)")
    }

    @Test func nestedUnknownKeyAndBadChoice() throws {
        let yaml = """
            revisions: [step1]
            models:
              - name: m
                folder: f
            tasks: [{name: t, size: 1}]
            analyses:
              - method: noop
                stesp: 3
            """
        let e = try #require(error(yaml))
        #expect(e.line == 8 && e.column == 5)
        #expect(e.message.contains("did you mean 'steps'"))
        let e2 = try #require(error(yaml.replacingOccurrences(of: "stesp: 3", with: "steps: 3").replacingOccurrences(of: "noop", with: "eap-ig-input")))
        #expect(e2.line == 7 && e2.message.contains("did you mean 'eap-ig-inputs'"))
    }

    @Test func syntaxErrorHasPosition() throws {
        let e = try #require(error("models:\n  - name: [unclosed\ntasks: x\n"))
        #expect(e.line > 0 && e.column > 0)
        #expect(e.message.hasPrefix("YAML syntax"))
    }

    @Test(arguments: [
        ("models: [{name: m}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]\nrevisions: [step1]", "needs a location"),
        ("models: [{name: m, folder: f, repo: a/b}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]\nrevisions: [step1]", "not both"),
        ("models: [{name: m, folder: f}]\ntasks: [{name: t, size: 0}]\nanalyses: [{method: noop}]\nrevisions: [step1]", "between 1"),
        ("models: [{name: m, folder: f}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]", "has no revisions"),
        ("models: [{name: m, folder: f}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]\nrevisions: [pythia-145]", "did you mean 'pythia-154'"),
        ("models: [{name: m, folder: f}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]\nrevisions: ['step9..step1 every 1']", "bad revision range"),
        ("models: [{name: m, folder: f}, {name: m, folder: g}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]\nrevisions: [step1]", "listed twice"),
        ("models: [{name: m, folder: f}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop, seconds: 1}]\nrevisions: [step1]", "only to method 'sleep'"),
        ("models: [{name: m, folder: f}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]\nrevisions: [step1]\nlease: {seconds: 1, heartbeat_seconds: 1}", "at most half"),
        ("models: [{name: ../x, folder: f}]\ntasks: [{name: t, size: 1}]\nanalyses: [{method: noop}]\nrevisions: [step1]", "must be 1-128"),
        ("", "empty"),
    ])
    func rejects(_ yaml: String, _ fragment: String) throws {
        let e = try #require(error(yaml))
        #expect(e.message.contains(fragment), "\(e)")
    }

    @Test func pythia154Preset() throws {
        let r = try RevisionSet.expand("pythia-154")
        #expect(r.count == 154)
        #expect(r.prefix(12).map(\.name) == ["step0", "step1", "step2", "step4", "step8", "step16", "step32", "step64",
                                              "step128", "step256", "step512", "step1000"])
        #expect(r.last?.name == "step143000")
        #expect(try RevisionSet.expand("sparse").count == 28)
        #expect(try RevisionSet.expand("exp-plus-detail").count == 43)
    }

    @Test func rangesIncludeTheEnd() throws {
        #expect(try RevisionSet.expand("step0..step10 every 4").map(\.name) == ["step0", "step4", "step8", "step10"])
        #expect(try RevisionSet.expand(["step5", "step0..step10 every 5", "main"]).map(\.name) == ["step0", "step5", "step10", "main"])
        #expect(throws: RevisionSet.ExpressionError.self) { try RevisionSet.expand("step1..step9 every 0") }
        #expect(throws: RevisionSet.ExpressionError.self) { try RevisionSet.expand("stepx") }
    }
}
