/// How a batch of sequences is packed as rows: sequence b occupies rows
/// `offsets[b] ..< offsets[b] + lengths[b]`, position ids 0..<lengths[b] (HF's arange, spec §1.4).
///
/// Attention in sequence b lets query i see key j iff j ≤ i and `keyVisible[offsets[b]+j]`
/// (true when `keyVisible` is nil): the causal mask combined with HF's key-padding mask.
/// Packing without padding (each sequence truncated at its metric position) is exact for
/// everything before that position and wastes no work.
///
/// A sequence may start after a cached prefix (`prefixLengths[b]` > 0): its rows are positions
/// prefixLength ..< prefixLength + length, and its queries also attend to the prefix's keys and
/// values, read from another trace (`KeyValuePrefix`). Used when many passes share a prefix
/// (IG steps before the first clean/corrupted difference).
public struct SequenceLayout: Sendable, Equatable {
    public let lengths: [Int]
    public let offsets: [Int]
    public let rowCount: Int
    /// Per row: whether the row may be attended to as a key (the attention mask). nil = all.
    public let keyVisible: [Bool]?
    /// Per sequence: offset (in units of one head's n×n block) into a layer's attention buffer.
    public let attentionOffsets: [Int]
    /// Σ_b n_b·(s_b + n_b): elements of one head's attention probabilities over the whole batch.
    public let attentionEntries: Int
    /// Per sequence: positions served by a cached prefix (0 = none).
    public let prefixLengths: [Int]

    public init(lengths: [Int], keyVisible: [Bool]? = nil, prefixLengths: [Int]? = nil) {
        precondition(lengths.allSatisfy { $0 >= 1 }, "every sequence needs at least one row")
        let prefixes = prefixLengths ?? [Int](repeating: 0, count: lengths.count)
        precondition(prefixes.count == lengths.count && prefixes.allSatisfy { $0 >= 0 }, "one prefix length per sequence")
        precondition(keyVisible == nil || prefixes.allSatisfy { $0 == 0 }, "key masks with cached prefixes are not supported")
        var offsets: [Int] = [], attention: [Int] = []
        var rows = 0, entries = 0
        for (n, s) in zip(lengths, prefixes) {
            offsets.append(rows)
            attention.append(entries)
            rows += n
            entries += n * (s + n)
        }
        self.prefixLengths = prefixes
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
                       keyVisible: keyVisible.map { Array([[Bool]](repeating: $0, count: copies).joined()) },
                       prefixLengths: Array([[Int]](repeating: prefixLengths, count: copies).joined()))
    }

    public var sequenceCount: Int { lengths.count }
}
