import Foundation
@testable import NeoX
import Tensor
import Testing
import ZIPFoundation

/// Hand-assembled pickles: the state-dict reader accepts torch's shape and refuses everything else.
@Suite struct PickleTests {
    /// Opcode-level pickle assembly.
    struct Pickle {
        var bytes: [UInt8] = [0x80, 2]

        mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
        mutating func string(_ text: String) {
            bytes += [0x58] + withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian, Array.init) + Array(text.utf8)
        }
        mutating func int(_ value: Int) { bytes += [0x4A] + withUnsafeBytes(of: Int32(value).littleEndian, Array.init) }
        mutating func op(_ code: UInt8) { bytes.append(code) }
        mutating func tuple(_ build: (inout Pickle) -> Void) {
            op(0x28)
            build(&self)
            op(0x74)
        }

        /// `OrderedDict()` then MARK; entries follow; `finish` adds SETITEMS STOP.
        static func stateDict() -> Pickle {
            var p = Pickle()
            p.global("collections", "OrderedDict")
            p.op(0x71); p.bytes.append(0) // BINPUT 0
            p.op(0x29); p.op(0x52) // EMPTY_TUPLE REDUCE
            p.op(0x28) // MARK
            return p
        }

        /// One `_rebuild_tensor_v2` entry.
        mutating func tensor(_ name: String, storage: String = "FloatStorage", key: String = "0", numel: Int,
                             offset: Int = 0, size: [Int], stride: [Int]) {
            string(name)
            global("torch._utils", "_rebuild_tensor_v2")
            tuple { p in
                p.tuple { p in
                    p.string("storage"); p.global("torch", storage); p.string(key); p.string("cpu"); p.int(numel)
                }
                p.op(0x51) // BINPERSID
                p.int(offset)
                p.tuple { p in size.forEach { p.int($0) } }
                p.tuple { p in stride.forEach { p.int($0) } }
                p.op(0x89) // NEWFALSE
                p.op(0x68); p.bytes.append(0) // BINGET 0 (OrderedDict)
                p.op(0x29); p.op(0x52)
            }
            op(0x52)
        }

        mutating func finish() { op(0x75); op(0x2E) }
    }

    func parse(_ pickle: Pickle) throws -> [(name: String, tensor: StateDictPickle.TensorRef)] {
        try StateDictPickle.stateDict(from: pickle.bytes, file: "test.pkl")
    }

    @Test func readsATorchStateDict() throws {
        var p = Pickle.stateDict()
        p.tensor("a", numel: 12, size: [3, 4], stride: [4, 1])
        p.tensor("b", storage: "HalfStorage", key: "1", numel: 10, offset: 2, size: [1, 8], stride: [99, 1])
        p.tensor("c", storage: "BoolStorage", key: "2", numel: 1, size: [], stride: [])
        p.finish()
        let dict = try parse(p)
        #expect(dict.map(\.name) == ["a", "b", "c"])
        #expect(dict[0].tensor == .init(storage: .init(key: "0", type: .f32, elementCount: 12), storageOffset: 0, shape: [3, 4]))
        #expect(dict[1].tensor.storage.type == .f16 && dict[1].tensor.storageOffset == 2)
        #expect(dict[2].tensor.shape == [] && dict[2].tensor.storage.type == .bool)
    }

    /// `model.state_dict()` pickles as an OrderedDict with a `_metadata` attribute (SETITEMS, then
    /// BUILD); a plain dict (transformers' `shard_checkpoint`) as EMPTY_DICT + SETITEMS.
    @Test func acceptsStateDictMetadataAndPlainDicts() throws {
        var withMetadata = Pickle.stateDict()
        withMetadata.tensor("a", numel: 4, size: [4], stride: [1])
        withMetadata.op(0x75) // SETITEMS
        withMetadata.op(0x7D); withMetadata.op(0x28) // state = {'_metadata': {'': {'version': 1}}}
        withMetadata.string("_metadata"); withMetadata.op(0x7D); withMetadata.op(0x28)
        withMetadata.string(""); withMetadata.op(0x7D); withMetadata.string("version"); withMetadata.op(0x4B); withMetadata.bytes.append(1)
        withMetadata.op(0x73); withMetadata.op(0x75); withMetadata.op(0x75)
        withMetadata.op(0x62); withMetadata.op(0x2E) // BUILD STOP
        #expect(try parse(withMetadata).map(\.name) == ["a"])

        var plain = Pickle()
        plain.global("collections", "OrderedDict"); plain.op(0x71); plain.bytes.append(0); plain.op(0x30) // BINPUT 0, POP
        plain.op(0x7D); plain.op(0x28)
        plain.tensor("b", storage: "BFloat16Storage", numel: 2, size: [2], stride: [1])
        plain.finish()
        #expect(try parse(plain).first?.tensor.storage.type == .bf16)
    }

    @Test func refusesGlobalOsSystem() throws {
        var p = Pickle()
        p.global("os", "system")
        p.tuple { $0.string("echo pwned") }
        p.op(0x52); p.op(0x2E)
        let error = LoaderFixtures.error(CheckpointError.self) { _ = try parse(p) }
        #expect(error == .pickleForbidden(file: "test.pkl", offset: 2, reason:
            "global os.system is not on the allow-list (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter, torch storages)"))
    }

    @Test func refusesReduceOnANonCallableGlobal() throws {
        var p = Pickle()
        p.global("torch", "FloatStorage")
        p.op(0x29); p.op(0x52); p.op(0x2E)
        guard case let .pickleForbidden(_, _, reason)? = LoaderFixtures.error(CheckpointError.self, { _ = try parse(p) }) else {
            Issue.record("REDUCE on a storage type must be refused")
            return
        }
        #expect(reason.contains("REDUCE on torch.FloatStorage"))
    }

    @Test(arguments: [UInt8(0x81), 0x69, 0x6F, 0x50, 0x92, 0x53, 0x42, 0x8F, 0x82, 0xFF])
    func refusesOpcodesOutsideTheStateDictSet(opcode: UInt8) throws {
        var p = Pickle.stateDict()
        p.op(opcode)
        p.finish()
        guard case let .pickleForbidden(file, offset, reason)? = LoaderFixtures.error(CheckpointError.self, { _ = try parse(p) }) else {
            Issue.record("opcode \(opcode) must be refused")
            return
        }
        #expect(file == "test.pkl" && offset == p.bytes.count - 3 && reason.contains("opcode 0x\(String(opcode, radix: 16))"))
    }

    @Test func refusesNonContiguousAndOutOfBoundsTensors() throws {
        var strided = Pickle.stateDict()
        strided.tensor("t", numel: 12, size: [3, 4], stride: [1, 3])
        strided.finish()
        var outside = Pickle.stateDict()
        outside.tensor("t", numel: 12, offset: 1, size: [3, 4], stride: [4, 1])
        outside.finish()
        var badPersistentID = Pickle.stateDict()
        badPersistentID.string("t")
        badPersistentID.tuple { $0.string("module"); $0.string("x") }
        badPersistentID.op(0x51)
        badPersistentID.finish()
        for (pickle, expected) in [(strided, "not contiguous"), (outside, "runs past storage"), (badPersistentID, "persistent id")] {
            let error = LoaderFixtures.error(CheckpointError.self) { _ = try parse(pickle) }
            #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        }
    }

    /// Truncations and many random corruptions of the fixture's real `data.pkl` end in an
    /// error or a valid state dict, never a crash.
    @Test func corruptedFixturePickleNeverCrashes() throws {
        let archive = try Archive(url: LoaderFixtures.model("neox-tiny-bin").appendingPathComponent("pytorch_model.bin"), accessMode: .read)
        let entry = try #require(archive["pytorch_model/data.pkl"])
        var original = Data()
        _ = try archive.extract(entry) { original.append($0) }
        let bytes = [UInt8](original)
        #expect(try StateDictPickle.stateDict(from: bytes, file: "data.pkl").count == 34)
        for length in Array(stride(from: 0, to: bytes.count, by: 13)) + Array((bytes.count - 40)..<bytes.count) {
            #expect(throws: CheckpointError.self) { _ = try StateDictPickle.stateDict(from: Array(bytes.prefix(length)), file: "data.pkl") }
        }
        var generator = SplitMix64(seed: 42)
        for _ in 0..<1000 {
            var mutated = bytes
            for _ in 0..<Int(generator.next() % 3 + 1) {
                mutated[Int(generator.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? StateDictPickle.stateDict(from: mutated, file: "data.pkl")
        }
    }

    /// A `pytorch_model.bin` whose pickle calls os.system is refused by the full loader, naming the file.
    @Test func loaderRefusesAMaliciousBin() throws {
        let (root, model) = try LoaderFixtures.copyModel("neox-tiny-bin")
        defer { try? FileManager.default.removeItem(at: root) }
        let bin = model.appendingPathComponent("pytorch_model.bin")
        try FileManager.default.removeItem(at: bin)
        var p = Pickle()
        p.global("os", "system")
        p.tuple { $0.string("touch /tmp/pwned") }
        p.op(0x52); p.op(0x2E)
        let archive = try Archive(url: bin, accessMode: .create)
        let payload = Data(p.bytes)
        try archive.addEntry(with: "archive/data.pkl", type: .file, uncompressedSize: Int64(payload.count)) { position, size in
            payload.subdata(in: Int(position)..<(Int(position) + size))
        }
        let error = LoaderFixtures.error(CheckpointError.self) { _ = try NeoXCheckpoint.load(from: model) }
        guard case let .pickleForbidden(file, _, reason)? = error else {
            Issue.record("expected pickleForbidden, got \(String(describing: error))")
            return
        }
        #expect(file == bin.path + ":archive/data.pkl" && reason.contains("os.system"))
    }

    @Test func loaderRefusesABinWithAShortStorage() throws {
        let (root, model) = try LoaderFixtures.copyModel("neox-tiny-bin")
        defer { try? FileManager.default.removeItem(at: root) }
        let bin = model.appendingPathComponent("pytorch_model.bin")
        try FileManager.default.removeItem(at: bin)
        var p = Pickle.stateDict()
        p.tensor("gpt_neox.embed_in.weight", numel: 96 * 32, size: [96, 32], stride: [32, 1])
        p.finish()
        let archive = try Archive(url: bin, accessMode: .create)
        for (path, payload) in [("archive/data.pkl", Data(p.bytes)), ("archive/data/0", Data(count: 100))] {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(payload.count)) { position, size in
                payload.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        let error = LoaderFixtures.error(CheckpointError.self) { _ = try NeoXCheckpoint.load(from: model) }
        guard case let .tensorInvalid(file, tensor, reason)? = error else {
            Issue.record("expected tensorInvalid, got \(String(describing: error))")
            return
        }
        #expect(file == bin.path && tensor == "gpt_neox.embed_in.weight" && reason.contains("100 bytes"))
    }
}

/// A tiny deterministic generator for corruption tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
