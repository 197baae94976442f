import Foundation

/// Everything that can go wrong while locating, reading or validating a GPT-NeoX checkpoint.
///
/// Every case names the file (and, where there is one, the tensor or key) so that the message
/// alone tells the user what to fix.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// A file could not be opened, mapped or read.
    case unreadable(file: String, reason: String)
    /// An output file could not be written.
    case unwritable(file: String, reason: String)
    /// `config.json` is not valid JSON or a key has the wrong type.
    case configUnreadable(file: String, reason: String)
    /// `config.json` parses but describes something we cannot run.
    case configInvalid(file: String, key: String, reason: String)
    /// The folder holds no weight file we know.
    case noWeights(directory: String, found: [String])
    /// A safetensors header is malformed (length, JSON, layout).
    case safetensorsInvalid(file: String, reason: String)
    /// One tensor entry of a weight file is malformed (offsets, byte length, storage bounds).
    case tensorInvalid(file: String, tensor: String, reason: String)
    /// A dtype string this reader does not know.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A known dtype that cannot hold model weights (weights must be F32, F16 or BF16).
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A tensor the config requires is absent from every weight file.
    case missingTensor(tensor: String, searched: [String])
    /// A tensor present in a weight file that the model does not use.
    case unexpectedTensor(file: String, tensor: String)
    /// The same tensor appears twice (in two shards, or as both `embed_out` and `lm_head`).
    case duplicateTensor(tensor: String, files: [String])
    /// A tensor's shape disagrees with `config.json`.
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    /// A shard index (`*.index.json`) is malformed or points at a missing shard.
    case indexInvalid(file: String, reason: String)
    /// `pytorch_model.bin` is not a torch zip archive we can read.
    case torchArchiveInvalid(file: String, reason: String)
    /// The pickle inside `pytorch_model.bin` is malformed.
    case pickleInvalid(file: String, offset: Int, reason: String)
    /// The pickle asks for something outside the state-dict allow-list; nothing was executed.
    case pickleForbidden(file: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            "cannot read \(file): \(reason)"
        case let .unwritable(file, reason):
            "cannot write \(file): \(reason)"
        case let .configUnreadable(file, reason):
            "cannot parse \(file): \(reason)"
        case let .configInvalid(file, key, reason):
            "\(file): key '\(key)': \(reason)"
        case let .noWeights(directory, found):
            "no weights in \(directory): expected model.safetensors, model.safetensors.index.json, "
                + "pytorch_model.bin or pytorch_model.bin.index.json; found \(found.isEmpty ? "nothing" : found.joined(separator: ", "))"
        case let .safetensorsInvalid(file, reason):
            "\(file) is not a valid safetensors file: \(reason)"
        case let .tensorInvalid(file, tensor, reason):
            "\(file): tensor '\(tensor)': \(reason)"
        case let .unknownDType(file, tensor, dtype):
            "\(file): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case let .unsupportedDType(file, tensor, dtype):
            "\(file): tensor '\(tensor)' has dtype \(dtype); model weights must be F32, F16 or BF16"
        case let .missingTensor(tensor, searched):
            "required tensor '\(tensor)' is in none of the weight files (\(searched.joined(separator: ", "))); the checkpoint is incomplete or does not match config.json"
        case let .unexpectedTensor(file, tensor):
            "\(file): unexpected tensor '\(tensor)'; the checkpoint does not match config.json (num_hidden_layers?) or is not a GPT-NeoX model"
        case let .duplicateTensor(tensor, files):
            "tensor '\(tensor)' is stored more than once (\(files.joined(separator: ", ")))"
        case let .shapeMismatch(file, tensor, expected, found):
            "\(file): tensor '\(tensor)' has shape \(found), but config.json implies \(expected)"
        case let .indexInvalid(file, reason):
            "\(file) is not a valid shard index: \(reason)"
        case let .torchArchiveInvalid(file, reason):
            "\(file) is not a readable torch checkpoint: \(reason)"
        case let .pickleInvalid(file, offset, reason):
            "\(file): malformed pickle at byte \(offset): \(reason)"
        case let .pickleForbidden(file, offset, reason):
            "\(file): refused pickle at byte \(offset): \(reason); only torch state dicts are accepted, nothing was executed"
        }
    }
}
