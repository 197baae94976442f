import Yams

/// Walks a composed YAML node tree, checking keys and types, and throws errors that carry the
/// node's line and column. Used instead of `Decodable` because decoding errors lose positions.
struct YAMLReader {
    let file: String

    func fail(_ node: Node?, _ message: String) -> SweepSpecError {
        SweepSpecError(file: file, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0, message: message)
    }

    /// A mapping's entries by key, after rejecting unknown or repeated keys and missing required ones.
    func mapping(
        _ node: Node, what: String, allowed: [String], required: [String] = []
    ) throws(SweepSpecError) -> Fields {
        guard case .mapping(let map) = node else { throw fail(node, "\(what) must be a mapping") }
        var fields: [String: (key: Node, value: Node)] = [:]
        for (key, value) in map {
            guard case .scalar(let scalar) = key else { throw fail(key, "\(what): keys must be plain strings") }
            let name = scalar.string
            guard allowed.contains(name) else {
                let hint = closestMatch(to: name, among: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                throw fail(key, "unknown key '\(name)' in \(what)\(hint)")
            }
            guard fields[name] == nil else { throw fail(key, "key '\(name)' appears twice in \(what)") }
            fields[name] = (key, value)
        }
        for name in required where fields[name] == nil {
            throw fail(node, "\(what) needs key '\(name)'")
        }
        return Fields(node: node, entries: fields)
    }

    func string(_ node: Node, what: String) throws(SweepSpecError) -> String {
        guard case .scalar(let s) = node else { throw fail(node, "\(what) must be a string") }
        return s.string
    }

    func name(_ node: Node, what: String) throws(SweepSpecError) -> String {
        let s = try string(node, what: what)
        guard !s.isEmpty, s.count <= 128,
              s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }),
              s != ".", s != ".."
        else { throw fail(node, "\(what) '\(s)' must be 1-128 of letters, digits, '.', '_', '-'") }
        return s
    }

    func int(_ node: Node, what: String, in range: ClosedRange<Int>) throws(SweepSpecError) -> Int {
        guard case .scalar(let s) = node, let v = Int(s.string.replacingUnderscores()) else {
            throw fail(node, "\(what) must be an integer")
        }
        guard range.contains(v) else {
            throw fail(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(v)")
        }
        return v
    }

    func double(_ node: Node, what: String, in range: ClosedRange<Double>) throws(SweepSpecError) -> Double {
        guard case .scalar(let s) = node, let v = Double(s.string.replacingUnderscores()), v.isFinite else {
            throw fail(node, "\(what) must be a number")
        }
        guard range.contains(v) else {
            throw fail(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(v)")
        }
        return v
    }

    func bool(_ node: Node, what: String) throws(SweepSpecError) -> Bool {
        guard case .scalar(let s) = node else { throw fail(node, "\(what) must be true or false") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(node, "\(what) must be true or false")
        }
    }

    /// A sequence's items; a single scalar counts as a one-item list when `scalarAllowed`.
    func list(_ node: Node, what: String, scalarAllowed: Bool = false) throws(SweepSpecError) -> [Node] {
        switch node {
        case .sequence(let seq): return Array(seq)
        case .scalar where scalarAllowed: return [node]
        default: throw fail(node, "\(what) must be a list")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(
        _ node: Node, what: String, as: T.Type
    ) throws(SweepSpecError) -> T where T.RawValue == String {
        let s = try string(node, what: what)
        if let v = T(rawValue: s) { return v }
        let options = T.allCases.map(\.rawValue)
        let hint = closestMatch(to: s, among: options).map { " (did you mean '\($0)'?)" } ?? ""
        throw fail(node, "\(what) '\(s)' is not one of \(options.joined(separator: ", "))\(hint)")
    }
}

/// The checked entries of one YAML mapping.
struct Fields {
    let node: Node
    let entries: [String: (key: Node, value: Node)]

    subscript(_ key: String) -> Node? { entries[key]?.value }
}

extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
