import HDF5

/// Writes a validated ``UnitResult`` into an open, empty HDF5 file (layout v1).
struct UnitResultEncoder {
    let file: HDF5File

    func encode(_ result: UnitResult) throws {
        try encodeRootAttributes(result)
        if let attribution = result.attribution { try encode(attribution) }
        for circuit in result.circuits.sorted(by: { $0.requestedEdges < $1.requestedEdges }) {
            let group = try file.createGroup(Key.circuit(circuit.requestedEdges))
            try group.createDataset(Key.mask, values: bytes(circuit.mask))
            try group.createScalarDataset(Key.metric, value: circuit.metric)
            try group.createScalarDataset(Key.nEdges, value: Int64(circuit.edgeCount))
            try group.createScalarDataset(Key.nNodes, value: Int64(circuit.nodeCount))
        }
        if let curve = result.faithfulness {
            let group = try file.createGroup(Key.faithfulness)
            try group.createDataset(Key.sizes, values: curve.sizes.map { Int64($0) })
            try group.createDataset(Key.valuesRatio, values: curve.ratio)
            try group.createDataset(Key.valuesNormalized, values: curve.normalized)
        }
        if let minimal = result.minimalCircuit {
            let group = try file.createGroup(Key.minimal)
            try group.createDataset(Key.mask, values: bytes(minimal.mask))
            try group.createScalarDataset(Key.nEdges, value: Int64(minimal.edgeCount))
            try group.createScalarDataset(Key.nNodes, value: Int64(minimal.nodeCount))
            try group.createScalarDataset(Key.minimalFaithfulness, value: minimal.faithfulness)
            try group.createScalarDataset(Key.threshold, value: minimal.threshold)
            try group.createScalarDataset(Key.normalization, string: minimal.normalization)
        }
        if let baseline = result.baseline {
            try file.createScalarDataset(Key.fullMetric, value: baseline.fullMetric)
            try file.createScalarDataset(Key.emptyMetric, value: baseline.emptyMetric)
        }
        if let behaviour = result.behaviour {
            let group = try file.createGroup(Key.behaviour)
            try group.setAttribute(Key.behaviourMetric, behaviour.metric)
            try group.createScalarDataset(Key.behaviourMean, value: behaviour.mean)
            try group.createDataset(Key.behaviourPerExample, values: behaviour.perExample)
            if let accuracy = behaviour.accuracy { try group.createScalarDataset(Key.behaviourAccuracy, value: accuracy) }
        }
        if !result.headScores.isEmpty {
            let group = try file.createGroup(Key.heads)
            for (name, scores) in result.headScores.sorted(by: { $0.key < $1.key }) {
                try group.createDataset(name, values: scores.values, shape: [scores.layers, scores.heads])
            }
        }
        if let checks = result.s2iChecks { try encode(checks) }
    }

    private func encodeRootAttributes(_ result: UnitResult) throws {
        let identity = result.identity
        try file.setAttribute(Key.format, UnitResultFile.formatName)
        try file.setAttribute(Key.schemaVersion, UnitResultFile.schemaVersion)
        try file.setAttribute(Key.unitID, identity.unitID)
        try file.setAttribute(Key.model, identity.model)
        try file.setAttribute(Key.revision, identity.revision)
        try file.setAttribute(Key.task, identity.task)
        if let value = identity.parameterCount { try file.setAttribute(Key.parameterCount, Int64(value)) }
        if let value = identity.checkpointSHA256 { try file.setAttribute(Key.checkpointSHA256, value) }
        if let value = identity.trainingStep { try file.setAttribute(Key.trainingStep, Int64(value)) }
        if let value = identity.tokensSeen { try file.setAttribute(Key.tokensSeen, Int64(value)) }
        if let value = identity.datasetHash { try file.setAttribute(Key.datasetHash, value) }

        let provenance = result.provenance
        try file.setAttribute(Key.softwareVersion, provenance.softwareVersion)
        try file.setAttribute(Key.host, provenance.host)
        if !provenance.timings.isEmpty {
            let phases = provenance.timings.keys.sorted()
            try file.setAttribute(Key.timingPhases, phases)
            try file.setAttribute(Key.timingSeconds, phases.map { provenance.timings[$0] ?? 0 })
        }
        if let method = result.method {
            try file.setAttribute(Key.method, method.name)
            if let value = method.steps { try file.setAttribute(Key.methodSteps, Int64(value)) }
            if let value = method.batchSize { try file.setAttribute(Key.methodBatchSize, Int64(value)) }
            if let value = method.batchNormalized { try file.setAttribute(Key.methodBatchNormalized, UInt8(value ? 1 : 0)) }
            if let value = method.metric { try file.setAttribute(Key.methodMetric, value) }
        }
        if let numerics = result.numerics {
            try file.setAttribute(Key.dtype, numerics.dtype)
            try file.setAttribute(Key.numericsFlags, numerics.flags)
        }
    }

    private func encode(_ attribution: Attribution) throws {
        let group = try file.createGroup(Key.attribution)
        try group.setAttribute(Key.edgeCount, Int64(attribution.scores.count))
        if let graph = attribution.graph {
            try group.setAttribute(Key.graphLayers, Int64(graph.layers))
            try group.setAttribute(Key.graphHeads, Int64(graph.heads))
            try group.setAttribute(Key.graphParallel, UInt8(graph.parallelAttentionMLP ? 1 : 0))
        }
        try file.createDataset(Key.scores, values: attribution.scores)
        let table = try EdgeNameTable(factoring: attribution.edgeNames)
        let edges = try file.createGroup(Key.edges)
        try edges.setAttribute(Key.edgeEncoding, Key.edgeEncodingValue)
        try file.createDataset(Key.edgeSenders, strings: table.senders)
        try file.createDataset(Key.edgeReceivers, strings: table.receivers)
        try file.createDataset(Key.edgeSenderIndex, values: table.senderIndex)
        try file.createDataset(Key.edgeReceiverIndex, values: table.receiverIndex)
    }

    private func encode(_ checks: S2IChecks) throws {
        let group = try file.createGroup(Key.s2i)
        try group.setAttribute(Key.s2iFlips, checks.flips)
        try group.setAttribute(Key.s2iCandidateSource, checks.candidateSource)
        for (name, values) in checks.masks {
            try group.createDataset(name, values: bytes(values), shape: [checks.layers, checks.heads])
        }
        for (name, values) in checks.changes {
            try group.createDataset(name, values: values, shape: [checks.flips.count, checks.layers, checks.heads])
        }
        if let baseline = checks.baseline {
            try group.createScalarDataset(Key.s2iBaselineLogitDiff, value: baseline.logitDiff)
            try group.createScalarDataset(Key.s2iBaselineIOAttention, value: baseline.ioAttention)
            try group.createScalarDataset(Key.s2iBaselineS1Attention, value: baseline.s1Attention)
            try group.createScalarDataset(Key.s2iBaselineS2Attention, value: baseline.s2Attention)
        }
    }

    private func bytes(_ mask: [Bool]) -> [UInt8] {
        mask.map { $0 ? 1 : 0 }
    }
}
