/// Path patching (Wang et al. 2023, in Callum McDougall's three-step form, the authors'
/// `path_patching_cm/path_patching.py` with its defaults):
///
/// 1. run the clean and the corrupted inputs and cache every head's output z;
/// 2. run the clean input with the sender head's z taken from the corrupted run and every other
///    head's z frozen at its clean value (MLPs are recomputed: paths through MLPs count as direct),
///    and record the receivers' inputs;
/// 3. if the receivers are head inputs (q, k or v at every position), run the clean input again with
///    only those inputs replaced by the values of step 2, everything downstream recomputed. If the
///    receiver is the final residual stream, step 2's output is the answer.
///
/// The result is the final layer norm's output of the patched run, from which callers compute
/// logits and their metric. Built once per batch; `patched(sender:into:)` reuses its buffers, so one
/// patcher serves one thread at a time.
///
/// `@unchecked Sendable`: the traces are scratch of one computation at a time.
public final class PathPatcher: @unchecked Sendable {
    /// Where the sender's effect is read.
    public enum Receiver: Sendable, Equatable {
        /// The residual stream after the last layer (TransformerLens `resid_post` of the last block).
        case finalResidual
        /// One input of each listed head: `slot` 0, 1, 2 = query, key, value.
        case heads([HeadIndex], slot: Int)
    }

    /// A head (layer, head).
    public struct HeadIndex: Sendable, Hashable, Comparable {
        public var layer: Int
        public var head: Int
        public init(layer: Int, head: Int) {
            self.layer = layer
            self.head = head
        }
        public static func < (a: HeadIndex, b: HeadIndex) -> Bool { (a.layer, a.head) < (b.layer, b.head) }
    }

    public let model: NeoXModel
    public let layout: SequenceLayout
    /// The clean and corrupted runs (step 1).
    public let clean: ForwardTrace
    public let corrupted: ForwardTrace
    private let sendersRun: ForwardTrace
    private let receiversRun: ForwardTrace

    /// Runs the clean and corrupted forwards of a batch of unpadded sequences.
    /// - Throws: `NeoXModelError` for empty or out-of-vocabulary sequences, too-long ones, or a
    ///   corrupted sequence whose length differs from its clean one.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public init(model: NeoXModel, clean cleanTokens: [[Int]], corrupted corruptedTokens: [[Int]]) throws(NeoXModelError) {
        guard !cleanTokens.isEmpty, cleanTokens.count == corruptedTokens.count else {
            throw .badInput("path patching needs as many corrupted as clean sequences (≥ 1), got \(cleanTokens.count) and \(corruptedTokens.count)")
        }
        for (b, (c, x)) in zip(cleanTokens, corruptedTokens).enumerated() {
            guard c.count == x.count else {
                throw .badInput("sequence \(b): clean has \(c.count) tokens, corrupted \(x.count); path patching needs equal lengths")
            }
            try model.validate(tokens: c, sequence: b)
            try model.validate(tokens: x, sequence: b)
        }
        self.model = model
        layout = SequenceLayout(lengths: cleanTokens.map(\.count))
        clean = ForwardTrace(model: model, layout: layout)
        corrupted = ForwardTrace(model: model, layout: layout)
        sendersRun = ForwardTrace(model: model, layout: layout)
        receiversRun = ForwardTrace(model: model, layout: layout)
        model.embed(cleanTokens.flatMap { $0 }, into: clean.residual(0))
        model.forward(trace: clean, layout: layout)
        model.embed(corruptedTokens.flatMap { $0 }, into: corrupted.residual(0))
        model.forward(trace: corrupted, layout: layout)
    }

    /// The final layer norm's output [rows, d] (stride d) after patching `sender`'s output from the
    /// corrupted run along the paths to `receiver`. Valid until the next call.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func patched(sender: HeadIndex, into receiver: Receiver) -> UnsafePointer<Float> {
        patchedRun(sender: sender, into: receiver).finalNorm
    }

    /// The patched run itself: its final layer norm output and its attention probabilities.
    public struct PatchedRun {
        /// The trace holding the run's layers from `firstLayer` on; earlier layers are the clean run's.
        let trace: ForwardTrace
        let clean: ForwardTrace
        let firstLayer: Int

        /// The final layer norm's output [rows, d] (stride d).
        public var finalNorm: UnsafePointer<Float> { UnsafePointer(trace.finalNorm) }

        /// Attention probabilities of (layer, sequence, head) in the patched run, an n×n query-major
        /// block (see `ForwardTrace.attentionProbabilities`).
        public func attentionProbabilities(layer l: Int, sequence b: Int, head h: Int) -> UnsafePointer<Float> {
            UnsafePointer((l >= firstLayer ? trace : clean).attentionProbabilities(layer: l, sequence: b, head: h))
        }
    }

    /// The clean run (step 1) as a `PatchedRun`.
    public var cleanRun: PatchedRun { PatchedRun(trace: clean, clean: clean, firstLayer: 0) }

    /// Like `patched(sender:into:)`, returning the whole run. With `senderRows`, the sender's
    /// output is patched only at those rows of the layout (the code's `seq_pos`, e.g. each
    /// sequence's last position); nil patches every row. Valid until the next call.
    @available(*, noasync, message: "blocking numeric work; run it off the cooperative pool")
    public func patchedRun(sender: HeadIndex, into receiver: Receiver, senderRows: [Int]? = nil) -> PatchedRun {
        precondition(sender.layer >= 0 && sender.layer < model.layerCount && sender.head >= 0 && sender.head < model.heads,
                     "sender outside the model")
        precondition(senderRows?.allSatisfy { (0..<layout.rowCount).contains($0) } ?? true, "sender row outside the layout")
        let d = model.d, dh = model.headDim, R = layout.rowCount
        // A receiver reads its input before its own layer's heads write, so receivers at or
        // before the sender's layer keep their clean input.
        var reached: [HeadIndex] = []
        if case let .heads(heads, _) = receiver {
            precondition(heads.allSatisfy { $0.layer >= 0 && $0.layer < model.layerCount && $0.head >= 0 && $0.head < model.heads },
                         "receiver outside the model")
            reached = heads.filter { $0.layer > sender.layer }
            if reached.isEmpty { return cleanRun }
        }
        // Step 2: sender corrupted, every other head frozen clean, MLPs recomputed.
        let clean = self.clean, corrupted = self.corrupted
        let patchedRows = senderRows ?? Array(0..<R)
        sendersRun.residual(sender.layer).update(from: clean.residual(sender.layer), count: R * d)
        model.forward(trace: sendersRun, layout: layout, hooks: ForwardHooks(firstLayer: sender.layer, z: { l, z in
            z.update(from: clean.z(l), count: R * d)
            if l == sender.layer {
                let from = corrupted.z(l)
                for row in patchedRows { (z + row * d + sender.head * dh).update(from: from + row * d + sender.head * dh, count: dh) }
            }
        }))
        guard case let .heads(_, slot) = receiver else {
            return PatchedRun(trace: sendersRun, clean: clean, firstLayer: sender.layer)
        }
        // Step 3: clean run with the receivers' inputs from step 2.
        precondition((0..<3).contains(slot), "slot is 0 (q), 1 (k) or 2 (v)")
        let byLayer = Dictionary(grouping: reached, by: \.layer)
        guard let first = byLayer.keys.min() else { return cleanRun }
        let patchedInputs = sendersRun
        receiversRun.residual(first).update(from: clean.residual(first), count: R * d)
        model.forward(trace: receiversRun, layout: layout, hooks: ForwardHooks(firstLayer: first, qkv: { l, qkv in
            guard let targets = byLayer[l] else { return }
            let from = patchedInputs.qkv(l)
            for target in targets {
                let column = target.head * 3 * dh + slot * dh
                for row in 0..<R { (qkv + row * 3 * d + column).update(from: from + row * 3 * d + column, count: dh) }
            }
        }))
        return PatchedRun(trace: receiversRun, clean: clean, firstLayer: first)
    }
}
