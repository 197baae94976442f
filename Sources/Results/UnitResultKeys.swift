/// Every HDF5 name of the unit-result layout v1, written once (`schemas/unit-result.md`).
enum Key {
    // Root attributes.
    static let format = "format"
    static let schemaVersion = "schema_version"
    static let unitID = "unit_id"
    static let model = "model"
    static let revision = "revision"
    static let task = "task"
    static let parameterCount = "parameter_count"
    static let checkpointSHA256 = "checkpoint_sha256"
    static let trainingStep = "training_step"
    static let tokensSeen = "tokens_seen"
    static let datasetHash = "dataset_hash"
    static let softwareVersion = "software_version"
    static let host = "host"
    static let timingPhases = "timing_phases"
    static let timingSeconds = "timing_seconds"
    static let method = "method"
    static let methodSteps = "method_steps"
    static let methodBatchSize = "method_batch_size"
    static let methodBatchNormalized = "method_batch_normalized"
    static let methodMetric = "method_metric"
    static let dtype = "dtype"
    static let numericsFlags = "numerics_flags"

    // /attribution
    static let attribution = "attribution"
    static let scores = "attribution/scores"
    static let edges = "attribution/edges"
    static let edgeSenders = "attribution/edges/senders"
    static let edgeReceivers = "attribution/edges/receivers"
    static let edgeSenderIndex = "attribution/edges/sender_index"
    static let edgeReceiverIndex = "attribution/edges/receiver_index"
    static let edgeEncoding = "encoding"
    static let edgeEncodingValue = "sender_receiver_index"
    static let edgeCount = "n_edges"
    static let graphLayers = "n_layers"
    static let graphHeads = "n_heads"
    static let graphParallel = "parallel_attn_mlp"

    // /circuits
    static let circuits = "circuits"
    static func circuit(_ n: Int) -> String { "circuits/\(n)" }
    static let mask = "mask"
    static let metric = "metric"
    static let nEdges = "n_edges"
    static let nNodes = "n_nodes"
    static let faithfulness = "circuits/faithfulness"
    static let sizes = "sizes"
    static let valuesRatio = "values_ratio"
    static let valuesNormalized = "values_normalized"
    static let minimal = "circuits/minimal"
    static let minimalFaithfulness = "faithfulness"
    static let threshold = "threshold"
    static let normalization = "normalization"

    // /baseline
    static let baseline = "baseline"
    static let fullMetric = "baseline/full_metric"
    static let emptyMetric = "baseline/empty_metric"

    // /behaviour
    static let behaviour = "behaviour"
    static let behaviourMetric = "metric"
    static let behaviourMean = "metric_mean"
    static let behaviourPerExample = "per_example"
    static let behaviourAccuracy = "accuracy"

    // /heads
    static let heads = "heads"

    // /s2i
    static let s2i = "s2i"
    static let s2iFlips = "flips"
    static let s2iCandidateSource = "candidate_source"
    static let s2iCandidates = "candidates"
    static let s2iNameMovers = "name_movers"
    static let s2iLogitDiffChange = "logit_diff_change"
    static let s2iIOAttentionChange = "io_attention_change"
    static let s2iS1AttentionChange = "s1_attention_change"
    static let s2iS2AttentionChange = "s2_attention_change"
    static let s2iBaselineLogitDiff = "baseline_logit_diff"
    static let s2iBaselineIOAttention = "baseline_io_attention"
    static let s2iBaselineS1Attention = "baseline_s1_attention"
    static let s2iBaselineS2Attention = "baseline_s2_attention"
}
