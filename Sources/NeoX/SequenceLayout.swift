/// How a batch of sequences is packed as rows: sequence b occupies rows
/// `offsets[b] ..< offsets[b] + lengths[b]`, position ids 0..<lengths[b] (HF's arange, spec §1.4).
///
/// Attention in sequence b lets query i see key j iff j ≤ i and `keyVisible[offsets[b]+j]`
/// (true when `keyVisible` is nil): the causal mask combined with HF's key-padding mask.
/// Packing without padding (each sequence truncated at its metric position) is exact for
/// everything before that position and wastes no work.
public struct SequenceLayout: Sendable, Equatable {
    public let lengths: [Int]
    public let offsets: [Int]
    public let rowCount: Int
    /// Per row: whether the row may be attended to as a key (the attention mask). nil = all.
    public let keyVisible: [Bool]?
    /// Per sequence: offset (in units of one head's n×n block) into a layer's attention buffer.
    public let attentionOffsets: [Int]
    /// Σ_b n_b²: elements of one head's attention probabilities over the whole batch.
    public let attentionEntries: Int

    public init(lengths: [Int], keyVisible: [Bool]? = nil) {
        precondition(lengths.allSatisfy { $0 >= 1 }, "every sequence needs at least one row")
        var offsets: [Int] = [], attention: [Int] = []
        var rows = 0, entries = 0
        for n in lengths {
            offsets.append(rows)
            attention.append(entries)
            rows += n
            entries += n * n
        }
        precondition(keyVisible == nil || keyVisible!.count == rows, "keyVisible needs one flag per row")
        self.lengths = lengths
        self.offsets = offsets
        self.rowCount = rows
        self.keyVisible = keyVisible
        self.attentionOffsets = attention
        self.attentionEntries = entries
    }

    /// The same sequences repeated `copies` times back to back (for stacking IG steps as rows).
    public func repeated(_ copies: Int) -> SequenceLayout {
        SequenceLayout(lengths: Array([[Int]](repeating: lengths, count: copies).joined()),
                       keyVisible: keyVisible.map { Array([[Bool]](repeating: $0, count: copies).joined()) })
    }

    public var sequenceCount: Int { lengths.count }
}
