import HDF5

/// Reads and validates a unit-result file (layout v1). Every failure names the file and the
/// dataset or attribute.
struct UnitResultDecoder {
    let file: HDF5File
    private var path: String { file.filePath }

    init(file: HDF5File) { self.file = file }

    func decode() throws -> UnitResult {
        try checkFormatAndVersion()
        let identity = UnitIdentity(
            unitID: try file.stringAttribute(Key.unitID),
            model: try file.stringAttribute(Key.model),
            revision: try file.stringAttribute(Key.revision),
            task: try file.stringAttribute(Key.task),
            parameterCount: try optionalInt(Key.parameterCount),
            checkpointSHA256: try optionalString(Key.checkpointSHA256),
            trainingStep: try optionalInt(Key.trainingStep),
            tokensSeen: try optionalInt(Key.tokensSeen),
            datasetHash: try optionalString(Key.datasetHash))
        var result = UnitResult(identity: identity, provenance: try decodeProvenance())
        if try file.hasAttribute(Key.method) {
            result.method = AttributionMethod(
                name: try file.stringAttribute(Key.method),
                steps: try optionalInt(Key.methodSteps),
                batchSize: try optionalInt(Key.methodBatchSize),
                batchNormalized: try optionalFlag(file, Key.methodBatchNormalized),
                metric: try optionalString(Key.methodMetric))
        }
        if try file.hasAttribute(Key.dtype) {
            result.numerics = Numerics(dtype: try file.stringAttribute(Key.dtype),
                                       flags: try file.hasAttribute(Key.numericsFlags)
                                           ? file.stringArrayAttribute(Key.numericsFlags) : [])
        }
        if try file.exists(Key.attribution) { result.attribution = try decodeAttribution() }
        let edgeCount = result.attribution?.scores.count
        if try file.exists(Key.circuits) {
            for name in try file.group(Key.circuits).childNames() {
                guard let size = Int(name), size >= 0 else { continue }  // faithfulness, minimal
                result.circuits.append(try decodeCircuit(size, edgeCount: edgeCount))
            }
            result.circuits.sort { $0.requestedEdges < $1.requestedEdges }
        }
        if try file.exists(Key.faithfulness) { result.faithfulness = try decodeFaithfulness() }
        if try file.exists(Key.minimal) { result.minimalCircuit = try decodeMinimal(edgeCount: edgeCount) }
        if try file.exists(Key.baseline) {
            result.baseline = Baseline(fullMetric: try file.dataset(Key.fullMetric).readScalar(Double.self),
                                       emptyMetric: try file.dataset(Key.emptyMetric).readScalar(Double.self))
        }
        if try file.exists(Key.behaviour) {
            let group = try file.group(Key.behaviour)
            result.behaviour = Behaviour(
                metric: try group.stringAttribute(Key.behaviourMetric),
                mean: try group.dataset(Key.behaviourMean).readScalar(Double.self),
                perExample: try group.dataset(Key.behaviourPerExample).read(Double.self, shape: .rank(1)).values,
                accuracy: try group.exists(Key.behaviourAccuracy)
                    ? group.dataset(Key.behaviourAccuracy).readScalar(Double.self) : nil)
        }
        if try file.exists(Key.heads) { result.headScores = try decodeHeads() }
        if try file.exists(Key.s2i) { result.s2iChecks = try decodeS2I(headShape: result.headScores.first.map { [$0.value.layers, $0.value.heads] }) }
        return result
    }

    private func checkFormatAndVersion() throws {
        let format = try file.hasAttribute(Key.format) ? file.stringAttribute(Key.format) : nil
        guard format == UnitResultFile.formatName else { throw UnitResultError.notAUnitResult(file: path, found: format) }
        let version = try file.attribute(Key.schemaVersion, as: Int64.self)
        guard UnitResultFile.supportedSchemaVersions.contains(version) else {
            throw UnitResultError.unsupportedSchemaVersion(file: path, found: version,
                                                           supported: UnitResultFile.supportedSchemaVersions)
        }
    }

    private func decodeProvenance() throws -> Provenance {
        var timings: [String: Double] = [:]
        if try file.hasAttribute(Key.timingPhases) {
            let phases = try file.stringArrayAttribute(Key.timingPhases)
            let seconds = try file.attributeArray(Key.timingSeconds, of: Double.self)
            guard phases.count == seconds.count else {
                throw UnitResultError.shapeMismatch(file: path, dataset: "/@\(Key.timingSeconds)",
                                                    expected: "[\(phases.count)] like timing_phases", found: [seconds.count])
            }
            timings = Dictionary(zip(phases, seconds), uniquingKeysWith: { first, _ in first })
        }
        return Provenance(softwareVersion: try file.stringAttribute(Key.softwareVersion),
                          host: try file.stringAttribute(Key.host), timings: timings)
    }

    private func decodeAttribution() throws -> Attribution {
        let group = try file.group(Key.attribution)
        let scores = try file.dataset(Key.scores).read(Float.self, shape: .rank(1)).values
        let count = scores.count
        if let i = scores.firstIndex(where: { !$0.isFinite }) {
            throw UnitResultError.nonFinite(file: path, dataset: "/" + Key.scores, index: i, value: scores[i])
        }
        if try group.hasAttribute(Key.edgeCount) {
            let stored = try group.attribute(Key.edgeCount, as: Int64.self)
            guard stored == Int64(count) else {
                throw UnitResultError.shapeMismatch(file: path, dataset: "/" + Key.scores,
                                                    expected: "[\(stored)] (n_edges)", found: [count])
            }
        }
        let encoding = try file.group(Key.edges).stringAttribute(Key.edgeEncoding)
        guard encoding == Key.edgeEncodingValue else {
            throw UnitResultError.invalidValue(file: path, dataset: "/\(Key.edges)@\(Key.edgeEncoding)",
                                               reason: "unknown edge-name encoding \"\(encoding)\"")
        }
        let table = EdgeNameTable(
            senders: try file.dataset(Key.edgeSenders).readStrings(shape: .rank(1)).values,
            receivers: try file.dataset(Key.edgeReceivers).readStrings(shape: .rank(1)).values,
            senderIndex: try file.dataset(Key.edgeSenderIndex).read(Int32.self, shape: .exactly([count])).values,
            receiverIndex: try file.dataset(Key.edgeReceiverIndex).read(Int32.self, shape: .exactly([count])).values)
        if let bad = table.firstInvalidIndex() {
            throw UnitResultError.invalidValue(file: path, dataset: "/\(Key.edges)/\(bad.vector)",
                                               reason: "entry \(bad.position) is \(bad.value), outside the name list")
        }
        var graph: GraphShape?
        if try group.hasAttribute(Key.graphLayers) {
            graph = GraphShape(layers: Int(try group.attribute(Key.graphLayers, as: Int64.self)),
                               heads: Int(try group.attribute(Key.graphHeads, as: Int64.self)),
                               parallelAttentionMLP: try optionalFlag(group, Key.graphParallel) ?? true)
        }
        return Attribution(edgeNames: table.names(), scores: scores, graph: graph)
    }

    private func decodeCircuit(_ size: Int, edgeCount: Int?) throws -> SizedCircuit {
        let group = try file.group(Key.circuit(size))
        return SizedCircuit(requestedEdges: size,
                            mask: try mask(group, edgeCount: edgeCount),
                            metric: try group.dataset(Key.metric).readScalar(Double.self),
                            edgeCount: try count(group, Key.nEdges),
                            nodeCount: try count(group, Key.nNodes))
    }

    private func decodeMinimal(edgeCount: Int?) throws -> MinimalCircuit {
        let group = try file.group(Key.minimal)
        return MinimalCircuit(mask: try mask(group, edgeCount: edgeCount),
                              edgeCount: try count(group, Key.nEdges),
                              nodeCount: try count(group, Key.nNodes),
                              faithfulness: try group.dataset(Key.minimalFaithfulness).readScalar(Double.self),
                              threshold: try group.dataset(Key.threshold).readScalar(Double.self),
                              normalization: try group.dataset(Key.normalization).readScalarString())
    }

    private func decodeFaithfulness() throws -> FaithfulnessCurve {
        let group = try file.group(Key.faithfulness)
        let sizes = try group.dataset(Key.sizes).read(Int64.self, shape: .rank(1)).values
        let shape = HDF5ShapeExpectation.exactly([sizes.count])
        return FaithfulnessCurve(sizes: sizes.map { Int($0) },
                                 ratio: try group.dataset(Key.valuesRatio).read(Double.self, shape: shape).values,
                                 normalized: try group.dataset(Key.valuesNormalized).read(Double.self, shape: shape).values)
    }

    private func decodeHeads() throws -> [String: HeadScores] {
        let group = try file.group(Key.heads)
        var heads: [String: HeadScores] = [:]
        var first: (name: String, shape: [Int])?
        for name in try group.childNames() {
            let array = try group.dataset(name).read(Float.self, shape: .rank(2))
            if let first, first.shape != array.shape {
                throw UnitResultError.shapeMismatch(file: path, dataset: "/heads/\(name)",
                                                    expected: "\(first.shape) like /heads/\(first.name)", found: array.shape)
            }
            first = first ?? (name, array.shape)
            heads[name] = HeadScores(layers: array.shape[0], heads: array.shape[1], values: array.values)
        }
        return heads
    }

    private func decodeS2I(headShape: [Int]?) throws -> S2IChecks {
        let group = try file.group(Key.s2i)
        let flips = try group.stringArrayAttribute(Key.s2iFlips)
        let candidates = try group.dataset(Key.s2iCandidates).read(UInt8.self, shape: .rank(2))
        let shape = candidates.shape
        if let headShape, headShape != shape {
            throw UnitResultError.shapeMismatch(file: path, dataset: "/\(Key.s2i)/\(Key.s2iCandidates)",
                                                expected: "\(headShape) like /heads", found: shape)
        }
        func mask(_ name: String) throws -> [Bool] {
            let stored = try group.dataset(name).read(UInt8.self, shape: .exactly(shape))
            if let i = stored.values.firstIndex(where: { $0 > 1 }) {
                throw UnitResultError.invalidValue(file: path, dataset: "/\(Key.s2i)/\(name)", reason: "entry \(i) is \(stored.values[i]), not 0 or 1")
            }
            return stored.values.map { $0 == 1 }
        }
        func changes(_ name: String) throws -> [Float] {
            try group.dataset(name).read(Float.self, shape: .exactly([flips.count] + shape)).values
        }
        var baseline: S2IChecks.Baseline?
        if try group.exists(Key.s2iBaselineLogitDiff) {
            baseline = S2IChecks.Baseline(
                logitDiff: try group.dataset(Key.s2iBaselineLogitDiff).readScalar(Double.self),
                ioAttention: try group.dataset(Key.s2iBaselineIOAttention).readScalar(Double.self),
                s1Attention: try group.dataset(Key.s2iBaselineS1Attention).readScalar(Double.self),
                s2Attention: try group.dataset(Key.s2iBaselineS2Attention).readScalar(Double.self))
        }
        let checks = S2IChecks(
            layers: shape[0], heads: shape[1], flips: flips, candidateSource: try group.stringAttribute(Key.s2iCandidateSource),
            candidates: try mask(Key.s2iCandidates), nameMovers: try mask(Key.s2iNameMovers), s2i: try mask(Key.mask),
            logitDiffChange: try changes(Key.s2iLogitDiffChange), ioAttentionChange: try changes(Key.s2iIOAttentionChange),
            s1AttentionChange: try changes(Key.s2iS1AttentionChange), s2AttentionChange: try changes(Key.s2iS2AttentionChange),
            baseline: baseline)
        if let reason = checks.inconsistency {
            throw UnitResultError.invalidValue(file: path, dataset: "/\(Key.s2i)", reason: reason)
        }
        return checks
    }

    // MARK: - Small readers

    private func mask(_ group: HDF5Group, edgeCount: Int?) throws -> [Bool] {
        let dataset = "\(group.path)/\(Key.mask)"
        guard let edgeCount else {
            throw UnitResultError.invalidValue(file: path, dataset: dataset, reason: "a circuit mask but no /attribution")
        }
        let stored = try group.dataset(Key.mask).read(UInt8.self, shape: .rank(1))
        guard stored.shape == [edgeCount] else {
            throw UnitResultError.shapeMismatch(file: path, dataset: dataset, expected: "[\(edgeCount)] (one per edge)",
                                                found: stored.shape)
        }
        if let i = stored.values.firstIndex(where: { $0 > 1 }) {
            throw UnitResultError.invalidValue(file: path, dataset: dataset, reason: "entry \(i) is \(stored.values[i]), not 0 or 1")
        }
        return stored.values.map { $0 == 1 }
    }

    private func count(_ group: HDF5Group, _ name: String) throws -> Int {
        let value = try group.dataset(name).readScalar(Int64.self)
        guard value >= 0 else {
            throw UnitResultError.invalidValue(file: path, dataset: "\(group.path)/\(name)", reason: "negative count \(value)")
        }
        return Int(value)
    }

    private func optionalInt(_ name: String) throws -> Int? {
        try file.hasAttribute(name) ? Int(file.attribute(name, as: Int64.self)) : nil
    }

    private func optionalString(_ name: String) throws -> String? {
        try file.hasAttribute(name) ? file.stringAttribute(name) : nil
    }

    private func optionalFlag(_ object: HDF5Object, _ name: String) throws -> Bool? {
        guard try object.hasAttribute(name) else { return nil }
        let value = try object.attribute(name, as: UInt8.self)
        guard value <= 1 else {
            throw UnitResultError.invalidValue(file: path, dataset: "\(object.path)@\(name)", reason: "flag is \(value), not 0 or 1")
        }
        return value == 1
    }
}
