/// Everything one unit (model × checkpoint × task × analysis) produced, as stored in one HDF5
/// file (`schemas/unit-result.md`, layout v1).
///
/// Only ``identity`` and ``provenance`` are required; every analysis part is optional, so an
/// attribution-only, a heads-only or a `noop` unit is stored the same way. Consistency rules
/// (checked by ``UnitResultFile/write(_:to:beforeRename:)`` before anything touches disk, and
/// again on read):
/// - circuit masks (sized and minimal) need ``attribution`` and have one entry per edge;
/// - every head-score array has the same `[layers, heads]` shape, and so do the S2I checks;
/// - attribution scores are finite.
public struct UnitResult: Sendable, Equatable {
    public var identity: UnitIdentity
    public var provenance: Provenance
    /// The attribution method and its parameters (root attributes `method*`).
    public var method: AttributionMethod?
    /// The numeric format the unit ran in (root attributes `dtype`, `numerics_flags`).
    public var numerics: Numerics?
    /// EAP-IG edge scores in the canonical edge order (`/attribution`).
    public var attribution: Attribution?
    /// Top-n circuits, one per requested size n (`/circuits/<n>`), in increasing n.
    public var circuits: [SizedCircuit]
    /// The faithfulness curve over circuit sizes (`/circuits/faithfulness`).
    public var faithfulness: FaithfulnessCurve?
    /// The smallest circuit reaching the faithfulness threshold (`/circuits/minimal`).
    public var minimalCircuit: MinimalCircuit?
    /// The full model's and the empty circuit's metric (`/baseline`).
    public var baseline: Baseline?
    /// Task behaviour of the full model (`/behaviour`).
    public var behaviour: Behaviour?
    /// Per-head scores by name ("induction", "previous_token", "duplicate_token", "successor",
    /// "copy", "copy_suppression", "s_inhibition", …), each `[layers, heads]` (`/heads/<name>`).
    public var headScores: [String: HeadScores]
    /// The S-inhibition flip checks and S2I classification (`/s2i`).
    public var s2iChecks: S2IChecks?

    public init(identity: UnitIdentity, provenance: Provenance, method: AttributionMethod? = nil,
                numerics: Numerics? = nil, attribution: Attribution? = nil, circuits: [SizedCircuit] = [],
                faithfulness: FaithfulnessCurve? = nil, minimalCircuit: MinimalCircuit? = nil,
                baseline: Baseline? = nil, behaviour: Behaviour? = nil, headScores: [String: HeadScores] = [:],
                s2iChecks: S2IChecks? = nil) {
        self.identity = identity
        self.provenance = provenance
        self.method = method
        self.numerics = numerics
        self.attribution = attribution
        self.circuits = circuits
        self.faithfulness = faithfulness
        self.minimalCircuit = minimalCircuit
        self.baseline = baseline
        self.behaviour = behaviour
        self.headScores = headScores
        self.s2iChecks = s2iChecks
    }
}

/// What the unit is: the root attributes that identify it.
public struct UnitIdentity: Sendable, Equatable {
    /// The unit's content hash (`unit_id`), as the planner computes it.
    public var unitID: String
    /// Model name, e.g. "EleutherAI/pythia-160m" (`model`).
    public var model: String
    /// Checkpoint revision, e.g. "step143000" (`revision`).
    public var revision: String
    /// Task name, e.g. "ioi" (`task`).
    public var task: String
    /// Number of model parameters (`parameter_count`).
    public var parameterCount: Int?
    /// Content hash of the weight files, or the Hub etags joined (`checkpoint_sha256`).
    public var checkpointSHA256: String?
    /// Training step of the checkpoint (`training_step`).
    public var trainingStep: Int?
    /// Tokens seen at that step, step × 2,097,152 for Pythia (`tokens_seen`).
    public var tokensSeen: Int?
    /// Hash of the task dataset used (`dataset_hash`).
    public var datasetHash: String?

    public init(unitID: String, model: String, revision: String, task: String, parameterCount: Int? = nil,
                checkpointSHA256: String? = nil, trainingStep: Int? = nil, tokensSeen: Int? = nil,
                datasetHash: String? = nil) {
        self.unitID = unitID
        self.model = model
        self.revision = revision
        self.task = task
        self.parameterCount = parameterCount
        self.checkpointSHA256 = checkpointSHA256
        self.trainingStep = trainingStep
        self.tokensSeen = tokensSeen
        self.datasetHash = datasetHash
    }
}

/// Who produced the file and how long it took.
public struct Provenance: Sendable, Equatable {
    /// circuitsweep's version (`software_version`).
    public var softwareVersion: String
    /// Host name of the worker (`host`).
    public var host: String
    /// Seconds per phase, e.g. ["load": 3.2, "attribute": 41.0, "search": 80.5]
    /// (`timing_phases` + `timing_seconds`, sorted by phase name).
    public var timings: [String: Double]

    public init(softwareVersion: String, host: String, timings: [String: Double] = [:]) {
        self.softwareVersion = softwareVersion
        self.host = host
        self.timings = timings
    }
}

/// The attribution method and its parameters.
public struct AttributionMethod: Sendable, Equatable {
    /// e.g. "EAP-IG-inputs", "EAP", "clean-corrupted", "noop" (`method`).
    public var name: String
    /// Integration steps m (`method_steps`).
    public var steps: Int?
    /// Examples per batch (`method_batch_size`).
    public var batchSize: Int?
    /// Whether scores are divided by the number of batches (`method_batch_normalized`, uint8 0/1).
    public var batchNormalized: Bool?
    /// The metric attributed, e.g. "logit_diff" (`method_metric`).
    public var metric: String?

    public init(name: String, steps: Int? = nil, batchSize: Int? = nil, batchNormalized: Bool? = nil,
                metric: String? = nil) {
        self.name = name
        self.steps = steps
        self.batchSize = batchSize
        self.batchNormalized = batchNormalized
        self.metric = metric
    }
}

/// The numeric format of the run.
public struct Numerics: Sendable, Equatable {
    /// Compute dtype, e.g. "float32" (`dtype`).
    public var dtype: String
    /// Flags that change numbers, e.g. "exact_erf_gelu", "fold_ln" (`numerics_flags`).
    public var flags: [String]

    public init(dtype: String, flags: [String] = []) {
        self.dtype = dtype
        self.flags = flags
    }
}

/// The EAP-IG graph's shape, when known (`/attribution` attributes).
public struct GraphShape: Sendable, Equatable {
    public var layers: Int
    public var heads: Int
    /// Parallel attention + MLP residual (all Pythia).
    public var parallelAttentionMLP: Bool

    public init(layers: Int, heads: Int, parallelAttentionMLP: Bool) {
        self.layers = layers
        self.heads = heads
        self.parallelAttentionMLP = parallelAttentionMLP
    }
}

/// Edge scores in the canonical edge order (spec/eap-ig.md §2.5).
public struct Attribution: Sendable, Equatable {
    /// "{sender}->{receiver}" names, e.g. "a1.h2->a4.h0<v>"; every name MUST contain "->".
    public var edgeNames: [String]
    /// One score per edge, finite.
    public var scores: [Float]
    public var graph: GraphShape?

    public init(edgeNames: [String], scores: [Float], graph: GraphShape? = nil) {
        self.edgeNames = edgeNames
        self.scores = scores
        self.graph = graph
    }
}

/// The top-n circuit for one requested size n.
public struct SizedCircuit: Sendable, Equatable {
    /// n, the number of top edges requested; the group name under `/circuits`.
    public var requestedEdges: Int
    /// One flag per edge, in the attribution's edge order (`mask`, uint8 0/1).
    public var mask: [Bool]
    /// The task metric of the model restricted to the circuit (`metric`).
    public var metric: Double
    /// Edges left in the circuit after pruning (`n_edges`).
    public var edgeCount: Int
    /// Nodes in the circuit (`n_nodes`).
    public var nodeCount: Int

    public init(requestedEdges: Int, mask: [Bool], metric: Double, edgeCount: Int, nodeCount: Int) {
        self.requestedEdges = requestedEdges
        self.mask = mask
        self.metric = metric
        self.edgeCount = edgeCount
        self.nodeCount = nodeCount
    }
}

/// Faithfulness per circuit size.
public struct FaithfulnessCurve: Sendable, Equatable {
    /// Circuit sizes (edges requested) (`sizes`).
    public var sizes: [Int]
    /// M_circuit / M_full (`values_ratio`).
    public var ratio: [Double]
    /// (M_circuit − M_empty) / (M_full − M_empty) (`values_normalized`).
    public var normalized: [Double]

    public init(sizes: [Int], ratio: [Double], normalized: [Double]) {
        self.sizes = sizes
        self.ratio = ratio
        self.normalized = normalized
    }
}

/// The smallest circuit whose faithfulness reaches the threshold.
public struct MinimalCircuit: Sendable, Equatable {
    public var mask: [Bool]
    public var edgeCount: Int
    public var nodeCount: Int
    public var faithfulness: Double
    /// e.g. 0.8
    public var threshold: Double
    /// Which faithfulness the threshold applies to: "ratio" or "normalized".
    public var normalization: String

    public init(mask: [Bool], edgeCount: Int, nodeCount: Int, faithfulness: Double, threshold: Double,
                normalization: String) {
        self.mask = mask
        self.edgeCount = edgeCount
        self.nodeCount = nodeCount
        self.faithfulness = faithfulness
        self.threshold = threshold
        self.normalization = normalization
    }
}

/// Metric of the full model and of the empty circuit (all edges corrupted).
public struct Baseline: Sendable, Equatable {
    public var fullMetric: Double
    public var emptyMetric: Double

    public init(fullMetric: Double, emptyMetric: Double) {
        self.fullMetric = fullMetric
        self.emptyMetric = emptyMetric
    }
}

/// Task behaviour of the full model.
public struct Behaviour: Sendable, Equatable {
    /// e.g. "logit_diff" (attribute `metric` on `/behaviour`).
    public var metric: String
    /// Mean metric over examples (`metric_mean`).
    public var mean: Double
    /// Metric per example (`per_example`).
    public var perExample: [Double]
    /// Fraction of examples answered correctly (`accuracy`).
    public var accuracy: Double?

    public init(metric: String, mean: Double, perExample: [Double], accuracy: Double? = nil) {
        self.metric = metric
        self.mean = mean
        self.perExample = perExample
        self.accuracy = accuracy
    }
}

/// One score per attention head, row-major `[layers, heads]`.
public struct HeadScores: Sendable, Equatable {
    public var layers: Int
    public var heads: Int
    public var values: [Float]

    public init(layers: Int, heads: Int, values: [Float]) {
        self.layers = layers
        self.heads = heads
        self.values = values
    }

    /// The score of head `head` in layer `layer`.
    public subscript(layer: Int, head: Int) -> Float { values[layer * heads + head] }
}
