import Foundation
import Tensor
import ZIPFoundation

/// A `torch.save` zip checkpoint (`pytorch_model.bin`, torch ≥ 1.6) holding a state dict.
///
/// Layout (torch `torch/serialization.py`, `_save`): entries under one prefix directory
/// (`<prefix>/data.pkl`, `<prefix>/data/<key>`, `<prefix>/byteorder`, …); the prefix comes from the
/// file name, so it is found, not assumed. `data.pkl` is read with `StateDictPickle`, which never
/// executes anything. Every storage entry is checked to exist and to be exactly
/// `numel × element size` bytes; every tensor to be contiguous and inside its storage.
final class TorchCheckpointFile: WeightSource {
    let url: URL
    private let archive: Archive
    private let prefix: String
    /// Tensors in pickle order.
    let tensors: [(name: String, tensor: StateDictPickle.TensorRef)]
    private let byName: [String: StateDictPickle.TensorRef]

    /// Largest `data.pkl` accepted (a state dict's pickle is a few hundred kB at most).
    static let maximumPickleSize = 64 << 20

    /// Opens the zip, parses `data.pkl` and validates every storage entry.
    /// - Throws: `.torchArchiveInvalid`, `.pickleInvalid`, `.pickleForbidden`, `.tensorInvalid`.
    init(url: URL) throws {
        self.url = url
        let path = url.path
        func invalid(_ reason: String) -> CheckpointError { .torchArchiveInvalid(file: path, reason: reason) }
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw invalid("not a zip archive (\(error)); only the zip format of torch ≥ 1.6 is supported")
        }
        let pickles = archive.filter { entry in
            let parts = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard pickles.count == 1, let pickleEntry = pickles.first else {
            throw invalid(pickles.isEmpty ? "no '<prefix>/data.pkl' entry" : "several '*/data.pkl' entries")
        }
        prefix = String(pickleEntry.path.dropLast("data.pkl".count))
        if let byteOrder = archive[prefix + "byteorder"] {
            let order = String(decoding: try Self.read(byteOrder, from: archive, file: path, limit: 16), as: UTF8.self)
            guard order == "little" else { throw invalid("byteorder is '\(order)'; only little-endian checkpoints are supported") }
        }
        let pickle = try Self.read(pickleEntry, from: archive, file: path, limit: Self.maximumPickleSize)
        let stateDict = try StateDictPickle.stateDict(from: Array(pickle), file: path + ":" + pickleEntry.path)
        tensors = stateDict

        var byName: [String: StateDictPickle.TensorRef] = [:]
        var checkedStorages: Set<String> = []
        for (name, tensor) in stateDict {
            guard byName.updateValue(tensor, forKey: name) == nil else {
                throw CheckpointError.duplicateTensor(tensor: name, files: [path])
            }
            let storage = tensor.storage
            guard checkedStorages.insert(storage.key).inserted else { continue }
            guard let entry = archive[prefix + "data/" + storage.key] else {
                throw CheckpointError.tensorInvalid(file: path, tensor: name, reason: "storage entry '\(prefix)data/\(storage.key)' is missing")
            }
            let expected = SafetensorsFile.checkedByteCount(shape: [storage.elementCount], elementSize: storage.type.byteSize)
            guard entry.type == .file, let expected, entry.uncompressedSize == UInt64(expected) else {
                throw CheckpointError.tensorInvalid(
                    file: path, tensor: name,
                    reason: "storage '\(entry.path)' has \(entry.uncompressedSize) bytes, the pickle declares \(storage.elementCount) × \(storage.type.rawValue)")
            }
        }
        self.byName = byName
    }

    var path: String { url.path }

    var storedTensors: [StoredTensor] {
        tensors.map { StoredTensor(name: $0.name, type: $0.tensor.storage.type, shape: $0.tensor.shape) }
    }

    func floatTensor(_ name: String) throws -> Tensor {
        guard let ref = byName[name] else {
            throw CheckpointError.tensorInvalid(file: path, tensor: name, reason: "not in this file")
        }
        let type = ref.storage.type
        guard type.isWeightType else {
            throw CheckpointError.unsupportedDType(file: path, tensor: name, dtype: type.rawValue)
        }
        guard let entry = archive[prefix + "data/" + ref.storage.key] else {
            throw CheckpointError.tensorInvalid(file: path, tensor: name, reason: "storage entry vanished")
        }
        let data = try Self.read(entry, from: archive, file: path, limit: Int.max)
        let start = ref.storageOffset * type.byteSize
        let count = ref.elementCount
        guard start + count * type.byteSize <= data.count else {
            throw CheckpointError.tensorInvalid(file: path, tensor: name, reason: "storage shorter than declared")
        }
        let values = data.withUnsafeBytes { raw in
            ElementDecoding.floats(UnsafeRawBufferPointer(rebasing: raw[start..<(start + count * type.byteSize)]),
                                   type: type, count: count)
        }
        return try Tensor(shape: ref.shape, elements: values)
    }

    /// Reads one entry completely, refusing entries above `limit` bytes and CRC mismatches.
    private static func read(_ entry: Entry, from archive: Archive, file: String, limit: Int) throws -> Data {
        guard entry.uncompressedSize <= UInt64(limit) else {
            throw CheckpointError.torchArchiveInvalid(file: file, reason: "entry '\(entry.path)' is \(entry.uncompressedSize) bytes, over the \(limit)-byte limit")
        }
        var data = Data()
        data.reserveCapacity(Int(min(entry.uncompressedSize, 1 << 28)))
        do {
            let checksum = try archive.extract(entry, skipCRC32: false) { data.append($0) }
            guard checksum == entry.checksum else {
                throw CheckpointError.torchArchiveInvalid(file: file, reason: "entry '\(entry.path)' fails its CRC-32 check (corrupt download?)")
            }
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.torchArchiveInvalid(file: file, reason: "cannot read entry '\(entry.path)': \(error)")
        }
        guard data.count == Int(entry.uncompressedSize) else {
            throw CheckpointError.torchArchiveInvalid(file: file, reason: "entry '\(entry.path)' is truncated")
        }
        return data
    }
}
