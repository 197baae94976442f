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
    /// - Throws: `.invalidResult` naming the first name without "->".
    init(factoring names: [String]) throws {
        var senderIDs: [Substring: Int32] = [:]
        var receiverIDs: [Substring: Int32] = [:]
        senderIndex.reserveCapacity(names.count)
        receiverIndex.reserveCapacity(names.count)
        var lastSender: Substring = ""
        var lastSenderID: Int32 = -1
        for (position, name) in names.enumerated() {
            guard let arrow = Self.arrow(in: name) else {
                throw UnitResultError.invalidResult(reason: "edge name \(position) \"\(name)\" has no \"->\"")
            }
            let sender = name[..<arrow]
            let receiver = name[name.utf8.index(arrow, offsetBy: 2)...]
            if lastSenderID < 0 || sender != lastSender {
                if let id = senderIDs[sender] {
                    lastSenderID = id
                } else {
                    lastSenderID = Int32(senders.count)
                    senderIDs[sender] = lastSenderID
                    senders.append(String(sender))
                }
                lastSender = sender
            }
            senderIndex.append(lastSenderID)
            if let id = receiverIDs[receiver] {
                receiverIndex.append(id)
            } else {
                let id = Int32(receivers.count)
                receiverIDs[receiver] = id
                receivers.append(String(receiver))
                receiverIndex.append(id)
            }
        }
    }

    /// The full names. Indices MUST have been range-checked (``firstInvalidIndex()``).
    func names() -> [String] {
        let prefixes = senders.map { $0 + "->" }
        var names: [String] = []
        names.reserveCapacity(senderIndex.count)
        for i in senderIndex.indices {
            names.append(prefixes[Int(senderIndex[i])] + receivers[Int(receiverIndex[i])])
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

    /// Index of the first "->" in `name`.
    private static func arrow(in name: String) -> String.Index? {
        let utf8 = name.utf8
        var previous: UInt8 = 0
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if previous == UInt8(ascii: "-") && byte == UInt8(ascii: ">") { return utf8.index(before: index) }
            previous = byte
            index = utf8.index(after: index)
        }
        return nil
    }
}
