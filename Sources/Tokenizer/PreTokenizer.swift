/// The GPT-2 split regex of HF's ByteLevel pre-tokenizer, implemented by hand over Unicode scalars:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// Alternatives are tried in order at each position, as Oniguruma does. `\s` is Unicode
/// White_Space (Oniguruma's Unicode `\s`), `\p{L}` letters, `\p{N}` numbers.
enum PreTokenizer {
    enum CharClass: UInt8 { case letter, number, space, other }

    private static let asciiClasses: [CharClass] = (0..<128).map { value in
        classifySlow(Unicode.Scalar(UInt8(value)))
    }

    @inline(__always)
    static func classify(_ scalar: Unicode.Scalar) -> CharClass {
        scalar.value < 128 ? asciiClasses[Int(scalar.value)] : classifySlow(scalar)
    }

    private static func classifySlow(_ scalar: Unicode.Scalar) -> CharClass {
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// Splits `scalars` into the regex's matches, returned as half-open index ranges that tile
    /// the whole input.
    static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        let n = scalars.count
        var classes = [CharClass]()
        classes.reserveCapacity(n)
        for scalar in scalars { classes.append(classify(scalar)) }
        var i = 0
        while i < n {
            let end = matchEnd(at: i, scalars, classes)
            pieces.append(i..<end)
            i = end
        }
        return pieces
    }

    /// The end of the match starting at `i` (always > i).
    private static func matchEnd(at i: Int, _ s: [Unicode.Scalar], _ c: [CharClass]) -> Int {
        let n = s.count
        // 's|'t|'re|'ve|'m|'ll|'d
        if s[i] == "'" && i + 1 < n {
            let a = s[i + 1]
            if a == "s" || a == "t" || a == "m" || a == "d" { return i + 2 }
            if i + 2 < n {
                let b = s[i + 2]
                if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return i + 3 }
            }
        }
        // ` ?X+` for X in letter, number, other: an optional single space then a run of X.
        var start = i
        if s[i] == " " && i + 1 < n && c[i + 1] != .space { start = i + 1 }
        let kind = c[start]
        if kind != .space {
            var j = start + 1
            while j < n && c[j] == kind { j += 1 }
            return j
        }
        // Whitespace run from i: `\s+(?!\S)` takes all of it at the end of input, else all but
        // its last character when that leaves at least one; otherwise `\s+` takes the run.
        var j = i + 1
        while j < n && c[j] == .space { j += 1 }
        if j == n { return j }
        if j - i >= 2 { return j - 1 }
        return j
    }
}
