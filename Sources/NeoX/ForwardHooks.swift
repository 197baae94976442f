/// Points where `NeoXModel.forward(trace:layout:prefix:hooks:)` lets a caller read or overwrite
/// activations in place, like TransformerLens hooks: the general mechanism behind path patching
/// (`PathPatcher`).
///
/// Both hooks get the layer index and the trace's buffer of that layer (rows of the layout, row
/// stride as documented on `ForwardTrace`); whatever they leave there is what the rest of the pass
/// reads. A hook MUST NOT keep the pointer after it returns.
public struct ForwardHooks {
    /// First layer to run; `trace.residual(firstLayer)` must already hold that layer's input.
    public var firstLayer: Int
    /// After layer l's post-rotary fused q/k/v ([rows, 3d], column h·3dh + j·dh + c) is computed,
    /// before attention: a head's query, key or value input can be replaced here.
    public var qkv: ((_ layer: Int, _ qkv: UnsafeMutablePointer<Float>) -> Void)?
    /// After layer l's head mixes z ([rows, d], column h·dh + c) are computed, before `dense`: a
    /// head's output can be replaced (patched or frozen) here.
    public var z: ((_ layer: Int, _ z: UnsafeMutablePointer<Float>) -> Void)?

    public init(
        firstLayer: Int = 0,
        qkv: ((_ layer: Int, _ qkv: UnsafeMutablePointer<Float>) -> Void)? = nil,
        z: ((_ layer: Int, _ z: UnsafeMutablePointer<Float>) -> Void)? = nil
    ) {
        self.firstLayer = firstLayer
        self.qkv = qkv
        self.z = z
    }
}
