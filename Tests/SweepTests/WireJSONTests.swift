import Foundation
import PropertyBased
import Testing
@testable import Sweep

/// The hand-written JSON of the per-unit messages means the same as Foundation's, both ways,
/// and decoding is exactly as strict (anything unusual goes to `JSONDecoder`).
@Suite struct WireJSONTests {
    static let awkward = ["", "w", "quote\"back\\slash", "tab\there\nnewline\u{1}", "ünïcødé/路径", "emoji 🧪", "x:y@z.1_-"]

    static func messages(_ text: String, lease: UInt64, n: Int) -> [WireMessage] {
        let sha = String(repeating: "cd", count: 32)
        let w = WorkerID("w\(n):x@h.1_-")  // worker ids are restricted; the free text goes in the other messages
        let u = uid(n)
        let name = text.replacingOccurrences(of: "/", with: "-")  // model and revision names have no '/'
        return [
            .assign(.init(lease: LeaseID(lease), unit: u, attempt: n % 5 + 1, speculative: n % 2 == 0,
                          model: ModelSpec(name: "m" + name, location: n % 2 == 0 ? .folder(path: "/models/" + text)
                                           : .huggingFaceCache(root: "/hub", repo: "E/\(text)")),
                          revision: Revision("step\(n)" + name), task: TaskSpec(name: "t" + text, size: n, seed: lease),
                          datasetHash: sha, analysis: AnalysisSpec(method: n % 2 == 0 ? .noop : .sleep, seconds: Double(n) / 8),
                          resultPath: "m/t/\(text).h5", resultSchemaVersion: n)),
            .ack(.init(unit: u, lease: LeaseID(lease), status: .committed)),
            .ack(.init(unit: u, lease: LeaseID(lease), status: .resend, detail: text)),
            .resultChunk(.init(worker: w, unit: u, lease: LeaseID(lease), index: n, count: n + 1), payload: Array(text.utf8)),
            .resultCommit(.init(worker: w, unit: u, lease: LeaseID(lease), sha256: sha, size: n, chunks: n, shared: n % 3 == 0)),
        ]
    }

    /// Decodes a header with Foundation only.
    static func foundation(_ message: WireMessage, header: [UInt8]) throws -> WireMessage {
        let d = JSONDecoder(), data = Data(header)
        switch message {
        case .assign: return .assign(try d.decode(WireMessage.Assign.self, from: data))
        case .ack: return .ack(try d.decode(WireMessage.Ack.self, from: data))
        case .resultChunk(_, let payload): return .resultChunk(try d.decode(WireMessage.ResultChunk.self, from: data), payload: payload)
        case .resultCommit: return .resultCommit(try d.decode(WireMessage.ResultCommit.self, from: data))
        default: throw CocoaError(.coderInvalidValue)
        }
    }

    @Test func handWrittenJSONMeansWhatFoundationsMeans() throws {
        let codec = WireCodec()
        for (n, text) in Self.awkward.enumerated() {
            for lease: UInt64 in [0, 1, 4_294_967_296, UInt64(Int64.max)] {
                for m in Self.messages(text, lease: lease, n: n) {
                    let frames = codec.encode(m)
                    #expect(try Self.foundation(m, header: frames[2]) == m, "Foundation reads our \(m.kind.rawValue)")
                    // Our reader on Foundation's JSON, and on ours.
                    var theirs = frames
                    switch m {
                    case .ack(let a): theirs[2] = Array(try JSONEncoder().encode(a))
                    case .resultChunk(let c, _): theirs[2] = Array(try JSONEncoder().encode(c))
                    case .resultCommit(let c): theirs[2] = Array(try JSONEncoder().encode(c))
                    case .assign(let a): theirs[2] = Array(try JSONEncoder().encode(a))
                    default: break
                    }
                    #expect(try codec.decode(theirs) == m)
                    #expect(try codec.decode(frames) == m)
                }
            }
        }
    }

    @Test func unusualHeadersGoToFoundationWithTheSameVerdict() throws {
        let unit = uid(0xabc7).hex, sha = String(repeating: "ab", count: 32)
        // Accepted by JSONDecoder, not by the fast path: escapes, spacing, key order, extra keys.
        let accepted = [
            #"{"worker":"w\u0031","unit":"\#(unit)","lease":3,"sha256":"\#(sha)","size":6,"chunks":1,"shared":false}"#,
            #" { "shared" : false , "chunks" : 1, "size": 6, "sha256": "\#(sha)", "lease": 3, "unit": "\#(unit)", "worker": "w1", "extra": [1, {"a": 2}] } "#,
        ]
        for header in accepted {
            let m = try WireCodec().decode([[1], Array("result-commit".utf8), Array(header.utf8)])
            #expect(m == .resultCommit(.init(worker: WorkerID("w1"), unit: uid(0xabc7), lease: LeaseID(3), sha256: sha, size: 6, chunks: 1,
                                             shared: false)))
        }
        #expect(WireCodec.fastResultCommit(Array(accepted[0].utf8)) == nil)
        // Rejected either way, with JSONDecoder's error.
        let rejected = [
            #"{"worker":"w1","unit":"\#(unit)","lease":3.5,"sha256":"\#(sha)","size":6,"chunks":1,"shared":false}"#,
            #"{"worker":"w1","unit":"\#(unit)","lease":-3,"sha256":"\#(sha)","size":6,"chunks":1,"shared":false}"#,
            #"{"worker":"w1","unit":"\#(unit.uppercased())","lease":3,"sha256":"\#(sha)","size":6,"chunks":1,"shared":false}"#,
            #"{"worker":"w1","unit":"\#(unit)","lease":3,"sha256":"\#(sha)","size":6,"chunks":1}"#,
            #"{"worker":"w1","unit":"\#(unit)","lease":3,"sha256":"\#(sha)","size":6,"chunks":1,"shared":"no"}"#,
            #"{"worker":"w1","unit":"\#(unit)","lease":3,"sha256":"\#(sha)","size":6,"chunks":1,"shared":false} x"#,
            #"{"worker":"w1","unit":"\#(unit)","lease":3,"sha256":"\#(sha)","size":06,"chunks":1,"shared":false}"#,
        ]
        for header in rejected {
            #expect(WireCodec.fastResultCommit(Array(header.utf8)) == nil, "\(header)")
            #expect(throws: WireDecodeError.self, "\(header)") {
                try WireCodec().decode([[1], Array("result-commit".utf8), Array(header.utf8)])
            }
        }
    }

    @Test func randomHeadersNeverDisagree() async {
        // Random flat objects: whenever the fast path answers, JSONDecoder answers the same.
        let keys = ["unit", "lease", "status", "detail", "x"]
        let values = [#""\#(uid(3).hex)""#, "3", "-1", "0", "01", "1e3", "true", "null", #""committed""#, #""resend""#, #""a\"b""#, "[]", "{}"]
        await propertyCheck(input: Gen.int(in: 0...Int.max)) { seed in
            var rng = SchedulerPropertyTests.SplitMix(state: UInt64(truncatingIfNeeded: seed))
            let fields = (0..<Int(rng.next() % 6)).map { _ in
                "\"\(keys[Int(rng.next() % UInt64(keys.count))])\":\(values[Int(rng.next() % UInt64(values.count))])"
            }
            let header = Array("{\(fields.joined(separator: ","))}".utf8)
            let foundation = try? JSONDecoder().decode(WireMessage.Ack.self, from: Data(header))
            if let fast = WireCodec.fastAck(header) {
                #expect(foundation == fast, "\(String(decoding: header, as: UTF8.self))")
            }
        }
    }
}

/// A worker's `assign` fast path: nested values decoded once by `JSONDecoder` and reused.
@Suite struct WireAssignFastPathTests {
    static func assign(lease: UInt64 = 7, modelName: String = "m", path: String = "/m") -> WireMessage.Assign {
        .init(lease: LeaseID(lease), unit: uid(9), attempt: 1, speculative: false,
              model: ModelSpec(name: modelName, location: .folder(path: path)), revision: Revision("step1"),
              task: TaskSpec(name: "ioi", size: 4, seed: 1), datasetHash: String(repeating: "ab", count: 32),
              analysis: AnalysisSpec(method: .noop), resultPath: "m/ioi/step1.h5", resultSchemaVersion: 1)
    }

    /// Our encoder's header, with `edit` applied to its text.
    static func header(_ a: WireMessage.Assign = assign(), _ edit: (String) -> String = { $0 }) -> [UInt8] {
        Array(edit(String(decoding: WireCodec().encode(.assign(a))[2], as: UTF8.self)).utf8)
    }

    @Test func theFastPathReadsWhatJSONDecoderReadsAndReusesNestedValues() throws {
        let cache = WireDecodeCache()
        let h = Self.header()
        #expect(WireCodec.fastAssign(h, cache: cache) == Self.assign())
        #expect(try JSONDecoder().decode(WireMessage.Assign.self, from: Data(h)) == Self.assign())
        // The same nested bytes in the next unit's assign: decoded from the cache, still right.
        #expect(WireCodec.fastAssign(Self.header(Self.assign(lease: 8)), cache: cache) == Self.assign(lease: 8))
        // Strings in nested values may hold brackets, quotes and escapes.
        let odd = Self.assign(modelName: "m}]\"{[", path: "/a\\b/{x}")
        #expect(WireCodec.fastAssign(Self.header(odd), cache: cache) == odd)
    }

    @Test func anythingUnusualGoesToJSONDecoderWithItsVerdict() throws {
        let cache = WireDecodeCache()
        // An extra key: JSONDecoder accepts it; the fast path leaves it to JSONDecoder.
        let extra = Self.header { $0.replacingOccurrences(of: "\"attempt\":1", with: "\"attempt\":1,\"x\":[1,{}]") }
        #expect(WireCodec.fastAssign(extra, cache: cache) == nil)
        #expect(try WireCodec().decode([[1], Array("assign".utf8), extra]) == .assign(Self.assign()))
        // Broken nested values, mismatched brackets, a truncated header: rejected either way.
        let base = String(decoding: Self.header(), as: UTF8.self)
        let broken = [
            base.replacingOccurrences(of: #""path":"\/m"}"#, with: #""path":"\/m"]"#),
            base.replacingOccurrences(of: #""path":"\/m"}"#, with: #""path":\/m}"#),
            base.replacingOccurrences(of: #""size":4"#, with: #""size":"four""#),
            String(base.dropLast()),
        ]
        for text in broken {
            #expect(text != base, "the edit did not apply")
            let header = Array(text.utf8)
            #expect(WireCodec.fastAssign(header, cache: cache) == nil, "\(text)")
            #expect(throws: WireDecodeError.self) { try WireCodec().decode([[1], Array("assign".utf8), header]) }
        }
    }
}
