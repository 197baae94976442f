import Foundation
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
            let repoDir = base(root).appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"))
            let commit: String
            if revision.name.count == 40, revision.name.allSatisfy(\.isHexDigit) {
                commit = revision.name
            } else {
                let ref = repoDir.appendingPathComponent("refs").appendingPathComponent(revision.name)
                guard let text = try? String(contentsOf: ref, encoding: .utf8) else {
                    throw fail("\(ref.path) is missing: download the revision into the hub cache first")
                }
                commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard commit.count == 40, commit.allSatisfy(\.isHexDigit) else {
                    throw fail("\(ref.path) does not hold a 40-hex commit")
                }
            }
            let dir = repoDir.appendingPathComponent("snapshots").appendingPathComponent(commit)
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw fail("snapshot \(dir.path) does not exist")
            }
            return dir
        }
    }
}
