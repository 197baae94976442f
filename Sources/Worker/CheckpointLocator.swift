import Foundation
import NeoX
import Sweep

/// Why a checkpoint folder could not be found on this worker.
public struct CheckpointLocationError: Error, CustomStringConvertible {
    public var model: String
    public var revision: String
    public var detail: String

    public var description: String { "checkpoint \(model)@\(revision): \(detail)" }
}

/// Resolves where a model revision's files are on this machine.
///
/// - `folder: P` → `P/<revision>/` (P relative to `modelRoot` when not absolute);
/// - `hf_cache: R, repo: org/name` → `R/models--org--name/snapshots/<commit>/`, where a
///   40-hex revision is the commit itself and any other revision is read from
///   `refs/<revision>` (spec/hf-hub.md §3). R is relative to `modelRoot` when not absolute.
public enum CheckpointLocator {
    @available(*, noasync)
    public static func directory(
        for model: ModelSpec, revision: Revision, modelRoot: URL?
    ) throws(CheckpointLocationError) -> URL {
        func fail(_ detail: String) -> CheckpointLocationError {
            CheckpointLocationError(model: model.name, revision: revision.name, detail: detail)
        }
        func base(_ path: String) -> URL {
            if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
            let root = modelRoot ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            return root.appendingPathComponent(path)
        }
        var isDirectory: ObjCBool = false
        switch model.location {
        case .folder(let path):
            let dir = base(path).appendingPathComponent(revision.name)
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw fail("folder \(dir.path) does not exist (pass --model-root if the models live elsewhere)")
            }
            return dir
        case .huggingFaceCache(let root, let repo):
            // One implementation of the hub cache layout: NeoX's ModelLocator (spec/hf-hub.md).
            do {
                return try ModelLocator.resolve(.hubCache(root: base(root), repoID: repo, revision: revision.name))
            } catch {
                throw fail("\(error)")
            }
        }
    }
}
