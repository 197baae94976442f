import NeoX

/// Edge attribution methods (spec/eap-ig.md §3). All share Δa = corrupted − clean sender outputs
/// and differ in the set A of input-embedding interpolation points α (input = e_corr + α·(e_clean − e_corr))
/// at which the receiver gradients are taken.
public enum AttributionMethod: Sendable, Equatable, Hashable {
    /// EAP: the gradient at the clean run, A = {1}.
    case eap
    /// EAP-IG-inputs with m steps: A = {k/m : k = 0..m−1} (corrupted included, clean excluded).
    case eapIGInputs(steps: Int)
    /// Clean-corrupted: A = {1, 0}.
    case cleanCorrupted

    /// The interpolation points, in the order they are evaluated.
    public var alphas: [Float] {
        switch self {
        case .eap: [1]
        case let .eapIGInputs(steps): (0..<steps).map { Float($0) / Float(steps) }
        case .cleanCorrupted: [1, 0]
        }
    }
}

/// How attribution is run.
public struct AttributionOptions: Sendable, Equatable {
    public var method: AttributionMethod
    /// Examples per batch, consecutive in file order (the reference's DataLoader partition).
    public var batchSize: Int
    /// false (default): every example's loss has weight 1, so scores are the mean over examples
    /// and independent of `batchSize` (= the reference with batch size 1).
    /// true: each batch's loss is the mean over the batch (the reference's `loss=True, mean=True`),
    /// reproducing the reference run with this `batchSize` exactly.
    public var batchNormalized: Bool
    /// Upper bound on rows (tokens × stacked IG steps) per forward/backward pass; bounds memory.
    public var maxRowsPerPass: Int
    /// Compute the positions before each example's first clean/corrupted difference once and
    /// share them as a cached key/value prefix (exact: Δa is 0 there). Off only for testing.
    public var sharePrefix: Bool

    public init(method: AttributionMethod = .eapIGInputs(steps: 30), batchSize: Int = 8,
                batchNormalized: Bool = false, maxRowsPerPass: Int = 1024, sharePrefix: Bool = true) {
        self.sharePrefix = sharePrefix
        self.method = method
        self.batchSize = batchSize
        self.batchNormalized = batchNormalized
        self.maxRowsPerPass = maxRowsPerPass
    }
}

/// Progress of an attribution run, reported after each stacked pass.
public struct AttributionProgress: Sendable, Equatable {
    /// 0-based batch index and the number of batches.
    public var batch: Int, batchCount: Int
    /// Interpolation points done in this batch (IG steps) and their total per batch.
    public var stepsDone: Int, stepCount: Int
}

/// Edge scores as the reference's [senderCount × receiverCount] matrix (row-major, zero where
/// there is no edge), with the canonical edge vector.
public struct EdgeScores: Sendable, Equatable {
    public let graph: CircuitGraph
    public let matrix: [Float]

    public init(graph: CircuitGraph, matrix: [Float]) {
        precondition(matrix.count == graph.senderCount * graph.receiverCount, "score matrix size")
        self.graph = graph
        self.matrix = matrix
    }

    /// Score of sender → receiver.
    public func score(sender: Int, receiver: Int) -> Float { matrix[sender * graph.receiverCount + receiver] }

    /// Scores in canonical edge order (`CircuitGraph.edges`).
    public var edgeVector: [Float] { graph.edgeVector(fromMatrix: matrix) }
}

/// Invalid attribution or evaluation input, naming the example.
public enum AttributionError: Error, Equatable, CustomStringConvertible {
    case noExamples
    case invalidExample(example: Int, problem: ExampleProblem)
    case invalidOption(String)
    case graphMismatch(String)

    public var description: String {
        switch self {
        case .noExamples: "no examples: attribution needs at least one clean/corrupted pair"
        case let .invalidExample(example, problem): "example \(example): \(problem)"
        case let .invalidOption(message): message
        case let .graphMismatch(message): message
        }
    }
}

extension NeoXModel {
    /// The EAP-IG graph of this model.
    public var circuitGraph: CircuitGraph {
        CircuitGraph(layers: layerCount, heads: heads, parallelResidual: config.useParallelResidual)
    }
}

/// Checks examples against a model with the one rule of `ExampleProblem`.
func validate(_ examples: TaskExamples, for model: NeoXModel) throws(AttributionError) {
    guard !examples.examples.isEmpty else { throw .noExamples }
    if let (index, problem) = examples.firstProblem(vocabularySize: model.vocabSize,
                                                    contextLength: model.config.maxPositionEmbeddings) {
        throw .invalidExample(example: index, problem: problem)
    }
}
