import Tensor

/// Every activation of one forward pass that the backward pass and the attribution need, in
/// buffers sized once for a row capacity and reused across calls (no allocation per pass).
///
/// Per layer l (row stride in brackets): residual input xˡ [d], LN1 x̂ [d] and 1/σ, LN2 x̂ [d]
/// and 1/σ, post-rotary fused q/k/v [3d] (head-major), attention probabilities per sequence and
/// head (n×n), z = concatenated head mixes before `dense` [d], attention output incl. b_O [d],
/// MLP pre-activation [d_mlp], MLP output incl. b_out [d]. Plus x^L, the final LN x̂ and 1/σ.
///
/// `@unchecked Sendable`: owned by one computation at a time; kernels write disjoint rows.
public final class ForwardTrace: @unchecked Sendable {
    public let layerCount: Int, d: Int, heads: Int, mlpDim: Int
    public let rowCapacity: Int
    public let attentionCapacity: Int
    /// Layout of the last forward pass.
    public internal(set) var layout: SequenceLayout?
    /// Cached key/value prefix of the last forward pass, if any.
    public internal(set) var prefix: KeyValuePrefix?

    let residuals: FloatBuffer
    let normalized1: FloatBuffer, inverseStd1: FloatBuffer
    let normalized2: FloatBuffer, inverseStd2: FloatBuffer
    let qkvBuffer: FloatBuffer
    let probabilities: FloatBuffer
    let zBuffer: FloatBuffer
    let attentionOutBuffer: FloatBuffer
    let mlpPreBuffer: FloatBuffer
    let mlpOutBuffer: FloatBuffer
    let finalNormalized: FloatBuffer, finalInverseStd: FloatBuffer, finalNormOutput: FloatBuffer
    // Scratch.
    let normScratch: FloatBuffer
    let activationScratch: FloatBuffer

    public init(model: NeoXModel, rowCapacity: Int, attentionCapacity: Int) {
        let L = model.layerCount, d = model.d, f = model.mlpDim, R = rowCapacity
        layerCount = L
        self.d = d
        heads = model.heads
        mlpDim = f
        self.rowCapacity = R
        self.attentionCapacity = attentionCapacity
        residuals = FloatBuffer(count: (L + 1) * R * d)
        normalized1 = FloatBuffer(count: L * R * d)
        inverseStd1 = FloatBuffer(count: L * R)
        normalized2 = FloatBuffer(count: L * R * d)
        inverseStd2 = FloatBuffer(count: L * R)
        qkvBuffer = FloatBuffer(count: L * R * 3 * d)
        probabilities = FloatBuffer(count: L * model.heads * attentionCapacity)
        zBuffer = FloatBuffer(count: L * R * d)
        attentionOutBuffer = FloatBuffer(count: L * R * d)
        mlpPreBuffer = FloatBuffer(count: L * R * f)
        mlpOutBuffer = FloatBuffer(count: L * R * d)
        finalNormalized = FloatBuffer(count: R * d)
        finalInverseStd = FloatBuffer(count: R)
        finalNormOutput = FloatBuffer(count: R * d)
        normScratch = FloatBuffer(count: R * d)
        activationScratch = FloatBuffer(count: R * f)
    }

    /// A trace big enough for `layout`.
    public convenience init(model: NeoXModel, layout: SequenceLayout) {
        self.init(model: model, rowCapacity: layout.rowCount, attentionCapacity: layout.attentionEntries)
    }

    /// Whether `layout` fits this trace's buffers.
    public func fits(_ layout: SequenceLayout) -> Bool {
        layout.rowCount <= rowCapacity && layout.attentionEntries <= attentionCapacity
    }

    // MARK: Views (row-major, rows of the stated width)

    /// xˡ for l in 0...L: x⁰ = token (or interpolated) embeddings, x^L = final residual before
    /// the final layer norm. [rows, d].
    public func residual(_ l: Int) -> UnsafeMutablePointer<Float> { residuals.pointer + l * rowCapacity * d }
    /// Post-rotary fused q/k/v of layer l, [rows, 3d], column h·3dh + j·dh + c.
    public func qkv(_ l: Int) -> UnsafeMutablePointer<Float> { qkvBuffer.pointer + l * rowCapacity * 3 * d }
    /// Concatenated head mixes z (before `dense`), [rows, d], column h·dh + c.
    public func z(_ l: Int) -> UnsafeMutablePointer<Float> { zBuffer.pointer + l * rowCapacity * d }
    /// Attention output of layer l including b_O, [rows, d].
    public func attentionOutput(_ l: Int) -> UnsafeMutablePointer<Float> { attentionOutBuffer.pointer + l * rowCapacity * d }
    /// MLP pre-activation of layer l, [rows, d_mlp].
    public func mlpPreActivation(_ l: Int) -> UnsafeMutablePointer<Float> { mlpPreBuffer.pointer + l * rowCapacity * mlpDim }
    /// MLP output of layer l including b_out, [rows, d] (the `m{l}` sender output).
    public func mlpOutput(_ l: Int) -> UnsafeMutablePointer<Float> { mlpOutBuffer.pointer + l * rowCapacity * d }
    /// The final layer norm's output, [rows, d] (logits = this · E_outᵀ).
    public var finalNorm: UnsafeMutablePointer<Float> { finalNormOutput.pointer }

    func normalized1(_ l: Int) -> UnsafeMutablePointer<Float> { normalized1.pointer + l * rowCapacity * d }
    func inverseStd1(_ l: Int) -> UnsafeMutablePointer<Float> { inverseStd1.pointer + l * rowCapacity }
    func normalized2(_ l: Int) -> UnsafeMutablePointer<Float> { normalized2.pointer + l * rowCapacity * d }
    func inverseStd2(_ l: Int) -> UnsafeMutablePointer<Float> { inverseStd2.pointer + l * rowCapacity }

    /// Attention probabilities of (layer, sequence, head): an n×(s+n) row-major block, query-major
    /// (s = the sequence's cached prefix length, usually 0).
    public func attentionProbabilities(layer l: Int, sequence b: Int, head h: Int) -> UnsafeMutablePointer<Float> {
        guard let layout else { preconditionFailure("no forward pass recorded") }
        let n = layout.lengths[b], s = layout.prefixLengths[b]
        return probabilities.pointer + l * heads * attentionCapacity + heads * layout.attentionOffsets[b] + h * n * (s + n)
    }
}

/// Keys and values of positions shared by every sequence of a pass, read from the trace that
/// computed them once: sequence b's prefix (its first `layout.prefixLengths[b]` positions) is
/// the rows `rowOffsets[b] ..< rowOffsets[b] + prefixLengths[b]` of `source`'s post-rotary q/k/v.
///
/// `@unchecked Sendable`: refers to a trace that is read-only while the prefix is in use.
public struct KeyValuePrefix: @unchecked Sendable {
    public let source: ForwardTrace
    public let rowOffsets: [Int]

    public init(source: ForwardTrace, rowOffsets: [Int]) {
        self.source = source
        self.rowOffsets = rowOffsets
    }
}
