/// Where a done unit's result bytes are while its own file is not written yet: one segment
/// of a result pack (`<results>/.packs/<pack>`).
///
/// Under load the coordinator stores a group commit's small results in one pack file (one
/// file creation instead of one per unit), journals them done, and writes each unit's own
/// file afterwards, when it is idle (`schemas/result-packs.md`). The journal keeps the
/// location until the unit's file is written and synced.
public struct PackedResult: Sendable, Hashable {
    /// The pack's file name inside `.packs` (no folder part).
    public var pack: String
    /// Byte offset of the result's bytes in the pack.
    public var offset: Int
    /// Length of the result's bytes.
    public var length: Int

    public init(pack: String, offset: Int, length: Int) {
        self.pack = pack
        self.offset = offset
        self.length = length
    }

    /// The folder of the packs inside the results folder.
    public static let folder = ".packs"

    /// Whether `name` can be a pack's file name (no path separators, no leading dot).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".") && name.hasSuffix(".pack")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
    }
}
