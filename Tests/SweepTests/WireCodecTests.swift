import PropertyBased
import Testing
@testable import Sweep

@Suite struct WireCodecTests {
    static let sha = String(repeating: "ab", count: 32)
    static let worker = WorkerID("host-1:4242:abc")
    static let unit = uid(5)
    static let ckpt = CheckpointKey(model: "pythia-70m", revision: Revision("step1000"))

    static let samples: [WireMessage] = [
        .hello(.init(worker: worker, host: "host-1", pid: 4242, capacity: 2, checkpoint: ckpt, sharedResults: false, software: "0.1.0")),
        .ready(.init(worker: worker, capacity: 2, checkpoint: nil)),
        .heartbeat(.init(worker: worker, capacity: 1, checkpoint: ckpt, leases: [LeaseID(1), LeaseID(2)])),
        .datasetRequest(.init(worker: worker, hash: sha)),
        .resultChunk(.init(worker: worker, unit: unit, lease: LeaseID(3), index: 0, count: 2), payload: [1, 2, 3]),
        .resultCommit(.init(worker: worker, unit: unit, lease: LeaseID(3), sha256: sha, size: 6, chunks: 2, shared: false)),
        .failure(.init(worker: worker, unit: unit, lease: LeaseID(3), error: "out of memory")),
        .release(.init(worker: worker, unit: unit, lease: LeaseID(3), draining: true)),
        .bye(.init(worker: worker, reason: "SIGTERM")),
        .welcome(.init(leaseSeconds: 60, heartbeatSeconds: 5, maxChunkBytes: 1 << 20)),
        .assign(.init(lease: LeaseID(9), unit: unit, attempt: 1, speculative: false,
                      model: ModelSpec(name: "pythia-70m", location: .huggingFaceCache(root: "/hub", repo: "EleutherAI/pythia-70m")),
                      revision: Revision("step1000"), task: TaskSpec(name: "ioi", size: 70, seed: 42), datasetHash: sha,
                      analysis: AnalysisSpec(method: .sleep, seconds: 0.5), resultPath: "pythia-70m/ioi/step1000.h5", resultSchemaVersion: 1)),
        .dataset(.init(hash: sha, found: true), payload: Array("examples".utf8)),
        .ack(.init(unit: unit, lease: LeaseID(3), status: .committed)),
        .cancel(.init(unit: unit, lease: LeaseID(3))),
        .shutdown(.init(reason: "sweep finished")),
    ]

    @Test func roundTripsEveryMessage() throws {
        let codec = WireCodec()
        #expect(Set(Self.samples.map(\.kind)) == Set(WireMessage.Kind.allCases))
        for m in Self.samples {
            let frames = codec.encode(m)
            #expect(frames[0] == [1])
            #expect(try codec.decode(frames) == m)
        }
    }

    func decodeError(_ frames: [[UInt8]]) -> WireDecodeError? {
        do {
            _ = try WireCodec(limits: WireLimits(maxHeaderBytes: 4096, maxChunkBytes: 1024)).decode(frames)
            return nil
        } catch {
            return error
        }
    }

    @Test func rejectsBadFramesWithTypedErrors() throws {
        let good = WireCodec().encode(Self.samples[1])
        #expect(decodeError([]) == .frameCount(0, expected: "3 or 4"))
        #expect(decodeError([[2]] + good.dropFirst())?.label == "version")
        #expect(decodeError([good[0], Array("nope".utf8), good[2]]) == .unknownType("nope"))
        #expect(decodeError(good + [[0]])?.label == "frames")
        #expect(decodeError([good[0], good[1], Array("{".utf8)])?.label == "header")
        #expect(decodeError([good[0], good[1], [UInt8](repeating: 32, count: 5000)])?.label == "oversized")
        #expect(decodeError([good[0], good[1], Array(#"{"worker":"w","capacity":0}"#.utf8)])
                == .invalidField(.ready, field: "capacity", "must be 1…1024"))
        #expect(decodeError([good[0], good[1], Array(#"{"worker":"a/b","capacity":1}"#.utf8)])?.label == "field")
        let chunk = WireCodec().encode(Self.samples[4])
        #expect(decodeError([chunk[0], chunk[1], chunk[2], [UInt8](repeating: 0, count: 2000)])?.label == "oversized")
        let assign = WireCodec().encode(Self.samples[10])
        let evil = String(decoding: assign[2], as: UTF8.self).replacingOccurrences(of: "pythia-70m\\/ioi", with: "..\\/..")
            .replacingOccurrences(of: "pythia-70m/ioi", with: "../..")
        #expect(decodeError([assign[0], assign[1], Array(evil.utf8)]) == .invalidField(.assign, field: "resultPath", "must be a relative path without '..'"))
        let badUnit = String(decoding: WireCodec().encode(Self.samples[13])[2], as: UTF8.self).replacingOccurrences(of: uid(5).hex, with: "XYZ")
        #expect(decodeError([good[0], Array("cancel".utf8), Array(badUnit.utf8)])?.label == "header")
    }

    @Test func mutatedFramesNeverCrash() async {
        let codec = WireCodec(limits: WireLimits(maxHeaderBytes: 4096, maxChunkBytes: 1024))
        let encoded = Self.samples.map(codec.encode)
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int.max)) { seed in
            var rng = SchedulerPropertyTests.SplitMix(state: UInt64(seed))
            var frames = encoded.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let f = Int.random(in: 0..<frames.count, using: &rng)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0 where !frames[f].isEmpty:
                    frames[f][Int.random(in: 0..<frames[f].count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: frames[f] = Array(frames[f].prefix(Int.random(in: 0...frames[f].count, using: &rng)))
                case 2: frames.remove(at: f)
                case 3: frames.insert((0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: f)
                case 4: frames[f] += [UInt8](repeating: UInt8(ascii: "9"), count: Int.random(in: 0...5000, using: &rng))
                default: frames.shuffle(using: &rng)
                }
                if frames.isEmpty { break }
            }
            // Any outcome is fine except a crash; a decoded message must re-encode and decode equal.
            if let m = try? codec.decode(frames) {
                #expect((try? codec.decode(codec.encode(m))) == m)
            }
        }
    }
}
