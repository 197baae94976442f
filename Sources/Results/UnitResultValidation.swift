/// Consistency checks on an in-memory ``UnitResult`` before it is written. The decoder checks
/// the same rules on the stored arrays (naming the file and dataset instead).
enum UnitResultValidation {
    static func check(_ result: UnitResult) throws {
        func fail(_ reason: String) -> UnitResultError { .invalidResult(reason: reason) }
        let identity = result.identity
        for (name, value) in [("unit_id", identity.unitID), ("model", identity.model),
                              ("revision", identity.revision), ("task", identity.task)] where value.isEmpty {
            throw fail("\(name) is empty")
        }
        let edgeCount = result.attribution?.scores.count
        if let attribution = result.attribution {
            guard attribution.edgeNames.count == attribution.scores.count else {
                throw fail("\(attribution.edgeNames.count) edge names but \(attribution.scores.count) scores")
            }
            if let i = attribution.scores.firstIndex(where: { !$0.isFinite }) {
                throw fail("attribution score \(i) (\(attribution.edgeNames[i])) is \(attribution.scores[i])")
            }
            if let graph = attribution.graph, graph.layers <= 0 || graph.heads <= 0 {
                throw fail("graph shape \(graph.layers)×\(graph.heads) is not positive")
            }
        }
        var seenSizes = Set<Int>()
        for circuit in result.circuits {
            guard circuit.requestedEdges >= 0, seenSizes.insert(circuit.requestedEdges).inserted else {
                throw fail("circuit size \(circuit.requestedEdges) is negative or repeated")
            }
            try checkMask(circuit.mask, edgeCount, "circuit \(circuit.requestedEdges)")
            guard circuit.edgeCount >= 0, circuit.nodeCount >= 0 else {
                throw fail("circuit \(circuit.requestedEdges) has negative counts")
            }
        }
        if let minimal = result.minimalCircuit {
            try checkMask(minimal.mask, edgeCount, "minimal circuit")
            guard minimal.edgeCount >= 0, minimal.nodeCount >= 0 else { throw fail("minimal circuit has negative counts") }
        }
        if let curve = result.faithfulness {
            guard curve.ratio.count == curve.sizes.count, curve.normalized.count == curve.sizes.count else {
                throw fail("faithfulness curve has \(curve.sizes.count) sizes, \(curve.ratio.count) ratios, \(curve.normalized.count) normalized values")
            }
        }
        var headShape: (Int, Int)?
        for (name, scores) in result.headScores.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw fail("head score name \"\(name)\" is not a valid HDF5 name")
            }
            guard scores.layers > 0, scores.heads > 0, scores.values.count == scores.layers * scores.heads else {
                throw fail("head scores \(name): \(scores.values.count) values for [\(scores.layers), \(scores.heads)]")
            }
            if let (layers, heads) = headShape, layers != scores.layers || heads != scores.heads {
                throw fail("head scores \(name) are [\(scores.layers), \(scores.heads)], others [\(layers), \(heads)]")
            }
            headShape = (scores.layers, scores.heads)
        }
        if let checks = result.s2iChecks {
            if let reason = checks.inconsistency { throw fail(reason) }
            if let (layers, heads) = headShape, layers != checks.layers || heads != checks.heads {
                throw fail("s2i checks are [\(checks.layers), \(checks.heads)], head scores [\(layers), \(heads)]")
            }
        }

        func checkMask(_ mask: [Bool], _ edgeCount: Int?, _ what: String) throws {
            guard let edgeCount else { throw fail("\(what) has a mask but the result has no attribution") }
            guard mask.count == edgeCount else { throw fail("\(what) mask has \(mask.count) entries for \(edgeCount) edges") }
        }
    }
}
