/// Cuts added tokens out of text, leftmost-longest, as HF's `AddedVocabulary` does with its
/// Aho-Corasick matcher (`MatchKind::LeftmostLongest`).
enum AddedTokenMatcher {
    struct Entry: Sendable {
        var scalars: [Unicode.Scalar]
        var id: Int
    }

    enum Segment {
        case text(Range<Int>)
        case added(Int)
    }

    static func split(_ scalars: [Unicode.Scalar], on entries: [Entry]) -> [Segment] {
        guard !entries.isEmpty else { return scalars.isEmpty ? [] : [.text(0..<scalars.count)] }
        let firsts = Set(entries.compactMap(\.scalars.first))
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        while i < scalars.count {
            guard firsts.contains(scalars[i]), let match = longestMatch(at: i, scalars, entries) else {
                i += 1
                continue
            }
            if textStart < i { segments.append(.text(textStart..<i)) }
            segments.append(.added(match.id))
            i += match.length
            textStart = i
        }
        if textStart < scalars.count { segments.append(.text(textStart..<scalars.count)) }
        return segments
    }

    private static func longestMatch(at i: Int, _ scalars: [Unicode.Scalar], _ entries: [Entry]) -> (id: Int, length: Int)? {
        var best: (id: Int, length: Int)?
        for entry in entries where entry.scalars.count > (best?.length ?? 0) && i + entry.scalars.count <= scalars.count {
            if scalars[i..<(i + entry.scalars.count)].elementsEqual(entry.scalars) {
                best = (entry.id, entry.scalars.count)
            }
        }
        return best
    }
}
