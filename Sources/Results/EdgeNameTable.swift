/// Edge names stored compactly: the distinct sender and receiver node names once each, plus two
/// int32 index vectors, so that `name[i] = senders[senderIndex[i]] + "->" + receivers[receiverIndex[i]]`.
///
/// Why: a Pythia-2.8b unit has 1,591,857 edges but only 1,057 senders and 3,105 receivers.
/// Newline-joined names are 29.6 MB and still 3.1–4.0 MB deflated; the two index vectors
/// deflate (with shuffle) to about 100 kB, and writing or reading them is cheap.
struct EdgeNameTable: Equatable {
    var senders: [String] = []
    var receivers: [String] = []
    var senderIndex: [Int32] = []
    var receiverIndex: [Int32] = []

    init(senders: [String], receivers: [String], senderIndex: [Int32], receiverIndex: [Int32]) {
        self.senders = senders
        self.receivers = receivers
        self.senderIndex = senderIndex
        self.receiverIndex = receiverIndex
    }

    /// Splits every name at its first "->".
    ///
    /// Works on the UTF-8 bytes. Names in the canonical order come in runs that repeat the
    /// previous sender and step to the next receiver, so most names are matched with two byte
    /// comparisons; the dictionaries are only consulted when a run breaks.
    ///
    /// - Throws: `.invalidResult` naming the first name without "->".
    init(factoring names: [String]) throws {
        var senderIDs: [[UInt8]: Int32] = [:]
        var receiverIDs: [[UInt8]: Int32] = [:]
        var senderBytes: [[UInt8]] = []
        var receiverBytes: [[UInt8]] = []
        senderIndex.reserveCapacity(names.count)
        receiverIndex.reserveCapacity(names.count)
        var lastSender: Int32 = -1
        var lastReceiver: Int32 = -1
        for (position, name) in names.enumerated() {
            var name = name
            let found: Bool = name.withUTF8 { utf8 in
                guard let arrow = Self.arrow(in: utf8) else { return false }
                let sender = UnsafeBufferPointer(rebasing: utf8[..<arrow])
                let receiver = UnsafeBufferPointer(rebasing: utf8[(arrow + 2)...])
                if lastSender < 0 || !Self.equal(sender, senderBytes[Int(lastSender)]) {
                    let key = Array(sender)
                    if let id = senderIDs[key] {
                        lastSender = id
                    } else {
                        lastSender = Int32(senderBytes.count)
                        senderIDs[key] = lastSender
                        senderBytes.append(key)
                    }
                }
                let next = Int(lastReceiver) + 1
                if next < receiverBytes.count, Self.equal(receiver, receiverBytes[next]) {
                    lastReceiver = Int32(next)
                } else {
                    let key = Array(receiver)
                    if let id = receiverIDs[key] {
                        lastReceiver = id
                    } else {
                        lastReceiver = Int32(receiverBytes.count)
                        receiverIDs[key] = lastReceiver
                        receiverBytes.append(key)
                    }
                }
                return true
            }
            guard found else {
                throw UnitResultError.invalidResult(reason: "edge name \(position) \"\(name)\" has no \"->\"")
            }
            senderIndex.append(lastSender)
            receiverIndex.append(lastReceiver)
        }
        senders = senderBytes.map { String(decoding: $0, as: UTF8.self) }
        receivers = receiverBytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The full names. Indices MUST have been range-checked (``firstInvalidIndex()``).
    func names() -> [String] {
        let prefixes = senders.map { Array(($0 + "->").utf8) }
        let suffixes = receivers.map { Array($0.utf8) }
        var names: [String] = []
        names.reserveCapacity(senderIndex.count)
        for i in senderIndex.indices {
            let prefix = prefixes[Int(senderIndex[i])]
            let suffix = suffixes[Int(receiverIndex[i])]
            names.append(String(unsafeUninitializedCapacity: prefix.count + suffix.count) { buffer in
                _ = buffer.initialize(fromContentsOf: prefix)
                _ = UnsafeMutableBufferPointer(rebasing: buffer[prefix.count...]).initialize(fromContentsOf: suffix)
                return prefix.count + suffix.count
            })
        }
        return names
    }

    /// The first index (and which vector) that is out of range, if any.
    func firstInvalidIndex() -> (vector: String, position: Int, value: Int32)? {
        if let i = senderIndex.firstIndex(where: { $0 < 0 || Int($0) >= senders.count }) {
            return ("sender_index", i, senderIndex[i])
        }
        if let i = receiverIndex.firstIndex(where: { $0 < 0 || Int($0) >= receivers.count }) {
            return ("receiver_index", i, receiverIndex[i])
        }
        return nil
    }

    /// Offset of the first "->" in `utf8`.
    private static func arrow(in utf8: UnsafeBufferPointer<UInt8>) -> Int? {
        guard utf8.count >= 2 else { return nil }
        for i in 0..<(utf8.count - 1) where utf8[i] == UInt8(ascii: "-") && utf8[i + 1] == UInt8(ascii: ">") {
            return i
        }
        return nil
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ other: [UInt8]) -> Bool {
        bytes.count == other.count && bytes.elementsEqual(other)
    }
}
