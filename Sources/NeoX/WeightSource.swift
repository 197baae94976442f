import Foundation
import Tensor

/// A tensor as a weight file declares it, before any bytes are converted.
struct StoredTensor {
    var name: String
    var type: ElementType
    var shape: [Int]
}

/// One opened weight file (a safetensors file or a torch zip) whose tensors can be up-cast on demand.
///
/// Opening validates the whole layout; `floatTensor` only converts bytes. Dropping the source
/// releases its mapping or archive handle.
protocol WeightSource: AnyObject {
    var path: String { get }
    var storedTensors: [StoredTensor] { get }
    /// The named tensor up-cast to Float32; the dtype was checked by the caller.
    func floatTensor(_ name: String) throws -> Tensor
}

extension SafetensorsFile: WeightSource {
    var path: String { url.path }

    var storedTensors: [StoredTensor] {
        entries.map { StoredTensor(name: $0.name, type: $0.type, shape: $0.shape) }
    }
}

/// The weight files of one checkpoint folder, in the order they are read.
struct WeightFileLayout {
    enum Format { case safetensors, torch }

    var format: Format
    var files: [URL]
    /// For sharded checkpoints: the index file and its tensor → shard-name map.
    var index: (file: URL, weightMap: [String: String])?

    static let safetensorsSingle = "model.safetensors"
    static let safetensorsIndex = "model.safetensors.index.json"
    static let torchSingle = "pytorch_model.bin"
    static let torchIndex = "pytorch_model.bin.index.json"

    /// Picks the weight files of `directory`, preferring safetensors (as transformers does).
    ///
    /// A shard index wins over a single file. Shard names in an index must be plain file names in
    /// the same folder.
    static func discover(in directory: URL) throws -> WeightFileLayout {
        let fileManager = FileManager.default
        func exists(_ name: String) -> Bool {
            fileManager.fileExists(atPath: directory.appendingPathComponent(name).path)
        }
        for (format, indexName, singleName) in [
            (Format.safetensors, safetensorsIndex, safetensorsSingle), (.torch, torchIndex, torchSingle),
        ] {
            if exists(indexName) {
                let indexFile = directory.appendingPathComponent(indexName)
                let parsed = try shards(index: indexFile)
                return WeightFileLayout(format: format, files: parsed.files, index: (indexFile, parsed.weightMap))
            }
            if exists(singleName) {
                return WeightFileLayout(format: format, files: [directory.appendingPathComponent(singleName)], index: nil)
            }
        }
        let found = (try? fileManager.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
        throw CheckpointError.noWeights(directory: directory.path, found: found)
    }

    /// A parsed `*.index.json`: the shard files in first-use order and the tensor → shard map.
    struct ShardIndex {
        var files: [URL]
        var weightMap: [String: String]
    }

    private struct RawIndex: Decodable {
        var weightMap: [String: String]
        enum CodingKeys: String, CodingKey { case weightMap = "weight_map" }
    }

    static func shards(index url: URL) throws -> ShardIndex {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CheckpointError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        let raw: RawIndex
        do {
            raw = try JSONDecoder().decode(RawIndex.self, from: data)
        } catch let error as DecodingError {
            throw CheckpointError.indexInvalid(file: url.path, reason: error.readableDescription)
        } catch {
            throw CheckpointError.indexInvalid(file: url.path, reason: "\(error)")
        }
        let directory = url.deletingLastPathComponent()
        var files: [URL] = []
        for name in Set(raw.weightMap.values).sorted() {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw CheckpointError.indexInvalid(file: url.path, reason: "shard '\(name)' is not a plain file name in the same folder")
            }
            let shard = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: shard.path) else {
                throw CheckpointError.indexInvalid(file: url.path, reason: "shard '\(name)' does not exist")
            }
            files.append(shard)
        }
        guard !files.isEmpty else {
            throw CheckpointError.indexInvalid(file: url.path, reason: "weight_map is empty")
        }
        return ShardIndex(files: files, weightMap: raw.weightMap)
    }
}
