import Yams

extension SweepSpec {
    static let topKeys = ["version", "results", "tokenizer", "models", "revisions", "tasks", "analyses",
                          "priority", "retry", "lease", "speculation"]
    static let modelKeys = ["name", "folder", "hf_cache", "repo", "revisions"]
    static let taskKeys = ["name", "size", "seed", "examples"]
    static let analysisKeys = ["name", "method", "steps", "circuit", "head_scores", "seconds"]
    static let circuitKeys = ["threshold", "start", "end", "step"]
    static let retryKeys = ["max_attempts", "backoff_seconds", "max_backoff_seconds"]
    static let leaseKeys = ["seconds", "heartbeat_seconds"]
    static let speculationKeys = ["enabled", "after_seconds"]

    /// Parses and validates a sweep file.
    ///
    /// - Parameters:
    ///   - yaml: the file's text.
    ///   - file: the name used in error messages (e.g. `sweep.yaml`).
    /// - Throws: ``SweepSpecError`` with line and column for YAML syntax errors, unknown keys
    ///   (with a "did you mean" hint), wrong types, out-of-range values and duplicate names.
    public static func parse(yaml: String, file: String) throws(SweepSpecError) -> SweepSpec {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw SweepSpecError(file: file, line: 0, column: 0, message: "the file is empty")
            }
            root = node
        } catch let error as SweepSpecError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw SweepSpecError(file: file, line: 0, column: 0, message: "YAML error: \(error)")
        }
        return try SpecParser(r: YAMLReader(file: file)).parse(root)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> SweepSpecError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return SweepSpecError(file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return SweepSpecError(file: file, line: context.mark.line, column: context.mark.column,
                                  message: "keys appear twice: \(duplicates.joined(separator: ", "))")
        default:
            return SweepSpecError(file: file, line: 0, column: 0, message: "YAML error: \(error)")
        }
    }
}

private struct SpecParser {
    let r: YAMLReader

    func parse(_ root: Node) throws(SweepSpecError) -> SweepSpec {
        let top = try r.mapping(root, what: "the sweep", allowed: SweepSpec.topKeys,
                                required: ["models", "tasks", "analyses"])
        if let v = top["version"] {
            _ = try r.int(v, what: "version", in: 1...1)
        }
        var spec = SweepSpec(models: [], revisions: [], tasks: [], analyses: [])
        if let v = top["results"] { spec.results = try nonEmptyPath(v, what: "results") }
        if let v = top["tokenizer"] { spec.tokenizer = try nonEmptyPath(v, what: "tokenizer") }
        if let v = top["revisions"] { spec.revisions = try revisions(v) }
        spec.models = try unique(r.list(top["models"]!, what: "models").map(model), what: "model") { $0.name }
        for (model, node) in zip(spec.models, try r.list(top["models"]!, what: "models"))
        where spec.revisions(of: model).isEmpty {
            throw r.fail(node, "model '\(model.name)' has no revisions: give 'revisions' here or at the top level")
        }
        spec.tasks = try unique(r.list(top["tasks"]!, what: "tasks").map(task), what: "task") { $0.name }
        spec.analyses = try unique(r.list(top["analyses"]!, what: "analyses").map(analysis), what: "analysis") { $0.name }
        for (what, list) in [("models", spec.models.count), ("tasks", spec.tasks.count), ("analyses", spec.analyses.count)]
        where list == 0 {
            throw r.fail(top[what], "\(what) must list at least one entry")
        }
        if let v = top["priority"] { spec.priority = try r.choice(v, what: "priority", as: PriorityPolicy.self) }
        if let v = top["retry"] { spec.retry = try retry(v) }
        if let v = top["lease"] { spec.lease = try lease(v) }
        if let v = top["speculation"] { spec.speculation = try speculation(v) }
        return spec
    }

    func unique<T>(
        _ items: [T], what: String, key: (T) -> String
    ) throws(SweepSpecError) -> [T] {
        var seen = Set<String>()
        for item in items where !seen.insert(key(item)).inserted {
            throw r.fail(nil, "\(what) '\(key(item))' is listed twice")
        }
        return items
    }

    func nonEmptyPath(_ node: Node, what: String) throws(SweepSpecError) -> String {
        let s = try r.string(node, what: what)
        guard !s.isEmpty, !s.contains("\0") else { throw r.fail(node, "\(what) must be a non-empty path") }
        return s
    }

    func revisions(_ node: Node) throws(SweepSpecError) -> [Revision] {
        var all = Set<Revision>()
        for item in try r.list(node, what: "revisions", scalarAllowed: true) {
            let text = try r.string(item, what: "a revision")
            do {
                all.formUnion(try RevisionSet.expand(text))
            } catch {
                throw r.fail(item, error.description)
            }
        }
        guard !all.isEmpty else { throw r.fail(node, "revisions must not be empty") }
        return all.sorted()
    }

    func model(_ node: Node) throws(SweepSpecError) -> ModelSpec {
        let f = try r.mapping(node, what: "a model", allowed: SweepSpec.modelKeys, required: ["name"])
        let name = try r.name(f["name"]!, what: "model name")
        let location: ModelLocation
        switch (f["folder"], f["hf_cache"], f["repo"]) {
        case (let folder?, nil, nil):
            location = .folder(path: try nonEmptyPath(folder, what: "folder"))
        case (nil, let cache?, let repo?):
            let id = try r.string(repo, what: "repo")
            let parts = id.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && !$0.contains("..") }) else {
                throw r.fail(repo, "repo '\(id)' must look like 'org/name'")
            }
            location = .huggingFaceCache(root: try nonEmptyPath(cache, what: "hf_cache"), repo: id)
        case (nil, _?, nil):
            throw r.fail(node, "model '\(name)': 'hf_cache' needs 'repo' (e.g. EleutherAI/pythia-70m)")
        case (nil, nil, _?):
            throw r.fail(node, "model '\(name)': 'repo' needs 'hf_cache' (the hub cache folder)")
        case (nil, nil, nil):
            throw r.fail(node, "model '\(name)' needs a location: 'folder', or 'hf_cache' and 'repo'")
        default:
            throw r.fail(node, "model '\(name)': give either 'folder' or 'hf_cache' + 'repo', not both")
        }
        let revisions = try f["revisions"].map { n throws(SweepSpecError) in try self.revisions(n) }
        return ModelSpec(name: name, location: location, revisions: revisions)
    }

    func task(_ node: Node) throws(SweepSpecError) -> TaskSpec {
        let f = try r.mapping(node, what: "a task", allowed: SweepSpec.taskKeys, required: ["name"])
        let name = try r.name(f["name"]!, what: "task name")
        let examples = try f["examples"].map { n throws(SweepSpecError) in try nonEmptyPath(n, what: "examples") }
        guard f["size"] != nil || examples != nil else {
            throw r.fail(node, "task '\(name)' needs 'size' (a generated task) or 'examples' (a ready-made examples file)")
        }
        let size = try f["size"].map { n throws(SweepSpecError) in try r.int(n, what: "task size", in: 1...10_000_000) } ?? 0
        let seed = try f["seed"].map { n throws(SweepSpecError) in try r.int(n, what: "task seed", in: 0...Int.max) } ?? 0
        return TaskSpec(name: name, size: size, seed: UInt64(seed), examples: examples)
    }

    func analysis(_ node: Node) throws(SweepSpecError) -> AnalysisSpec {
        let f = try r.mapping(node, what: "an analysis", allowed: SweepSpec.analysisKeys, required: ["method"])
        let method = try r.choice(f["method"]!, what: "method", as: AttributionMethod.self)
        let name = try f["name"].map { n throws(SweepSpecError) in try r.name(n, what: "analysis name") }
        let steps = try f["steps"].map { n throws(SweepSpecError) in try r.int(n, what: "steps", in: 1...10_000) } ?? 30
        var circuit: CircuitSearch?
        if let c = f["circuit"] {
            let cf = try r.mapping(c, what: "circuit", allowed: SweepSpec.circuitKeys)
            var search = CircuitSearch()
            if let v = cf["threshold"] { search.threshold = try r.double(v, what: "threshold", in: 0...10) }
            if let v = cf["start"] { search.start = try r.int(v, what: "start", in: 1...100_000_000) }
            if let v = cf["end"] { search.end = try r.int(v, what: "end", in: 1...100_000_000) }
            if let v = cf["step"] { search.step = try r.int(v, what: "step", in: 1...100_000_000) }
            guard search.start <= search.end else { throw r.fail(c, "circuit start must not exceed end") }
            circuit = search
        }
        var heads: [HeadScore] = []
        if let h = f["head_scores"] {
            for item in try r.list(h, what: "head_scores") {
                heads.append(try r.choice(item, what: "head score", as: HeadScore.self))
            }
        }
        var seconds = 0.0
        if let v = f["seconds"] {
            guard method == .sleep else { throw r.fail(v, "'seconds' applies only to method 'sleep'") }
            seconds = try r.double(v, what: "seconds", in: 0...86_400)
        }
        return AnalysisSpec(name: name, method: method, steps: steps, circuit: circuit, headScores: heads, seconds: seconds)
    }

    func retry(_ node: Node) throws(SweepSpecError) -> RetryPolicy {
        let f = try r.mapping(node, what: "retry", allowed: SweepSpec.retryKeys)
        var p = RetryPolicy()
        if let v = f["max_attempts"] { p.maxAttempts = try r.int(v, what: "max_attempts", in: 1...1000) }
        if let v = f["backoff_seconds"] { p.backoffSeconds = try r.double(v, what: "backoff_seconds", in: 0...86_400) }
        if let v = f["max_backoff_seconds"] {
            p.maxBackoffSeconds = try r.double(v, what: "max_backoff_seconds", in: 0...604_800)
        }
        return p
    }

    func lease(_ node: Node) throws(SweepSpecError) -> LeasePolicy {
        let f = try r.mapping(node, what: "lease", allowed: SweepSpec.leaseKeys)
        var p = LeasePolicy()
        if let v = f["seconds"] { p.seconds = try r.double(v, what: "lease seconds", in: 0.05...86_400) }
        if let v = f["heartbeat_seconds"] {
            p.heartbeatSeconds = try r.double(v, what: "heartbeat_seconds", in: 0.01...3600)
        }
        guard p.heartbeatSeconds * 2 <= p.seconds else {
            throw r.fail(node, "heartbeat_seconds (\(p.heartbeatSeconds)) must be at most half the lease seconds (\(p.seconds))")
        }
        return p
    }

    func speculation(_ node: Node) throws(SweepSpecError) -> SpeculationPolicy {
        let f = try r.mapping(node, what: "speculation", allowed: SweepSpec.speculationKeys)
        var p = SpeculationPolicy()
        if let v = f["enabled"] { p.enabled = try r.bool(v, what: "speculation enabled") }
        if let v = f["after_seconds"] { p.afterSeconds = try r.double(v, what: "after_seconds", in: 0...604_800) }
        return p
    }
}
