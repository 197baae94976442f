import Foundation

/// Where a model lives: a plain folder, or a repository + revision in a Hugging Face cache.
public enum ModelLocation: Sendable, Equatable {
    /// A folder holding `config.json` and weight files.
    case folder(URL)
    /// `<root>/models--ORG--NAME` at `revision` (a branch such as `main` or `step143000`, a tag,
    /// or a 40-hex commit).
    case hubCache(root: URL, repoID: String, revision: String)
}

/// Errors locating a model folder; each names the path and what is available instead.
public enum ModelLocationError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case invalidRepoID(String)
    case invalidRevision(String)
    case repoNotInCache(root: String, repoID: String, cached: [String])
    case revisionNotFound(repo: String, revision: String, available: [String])
    case snapshotMissing(repo: String, revision: String, commit: String)
    case revisionOnPlainFolder(path: String, revision: String)

    public var description: String {
        switch self {
        case let .notFound(path):
            "model location \(path) does not exist; pass a folder with config.json, a cache folder models--ORG--NAME, or a repo id ORG/NAME"
        case let .invalidRepoID(id):
            "'\(id)' is not a repo id of the form ORG/NAME"
        case let .invalidRevision(revision):
            "'\(revision)' is not a valid revision name"
        case let .repoNotInCache(root, repoID, cached):
            "\(repoID) is not in the Hugging Face cache \(root); cached repos: \(cached.isEmpty ? "none" : cached.joined(separator: ", "))"
        case let .revisionNotFound(repo, revision, available):
            "revision '\(revision)' is not in \(repo); available: \(available.isEmpty ? "none" : Self.summarize(available))"
        case let .snapshotMissing(repo, revision, commit):
            "\(repo): revision '\(revision)' points to commit \(commit), but snapshots/\(commit) is missing; download it again"
        case let .revisionOnPlainFolder(path, revision):
            "\(path) is a plain model folder; it has no revisions (got '\(revision)')"
        }
    }

    /// Long revision lists (Pythia has 154 branches) are shortened in messages.
    private static func summarize(_ names: [String]) -> String {
        names.count <= 20 ? names.joined(separator: ", ")
            : names.prefix(10).joined(separator: ", ") + ", … (\(names.count - 20) more) …, " + names.suffix(10).joined(separator: ", ")
    }
}

/// Resolves model locations to the folder `NeoXCheckpoint.load` reads.
///
/// Hub cache layout (huggingface_hub `file_download.py`, spec hf-hub.md §4): `refs/<revision>` holds
/// the 40-hex commit; `snapshots/<commit>/<file>` are the files, usually relative symlinks into
/// `blobs/`. A 40-hex revision names a snapshot directly. The lookup is offline.
public enum ModelLocator {
    /// The folder holding `config.json` and weights for `location`.
    /// - Throws: `ModelLocationError`.
    public static func resolve(_ location: ModelLocation) throws -> URL {
        switch location {
        case let .folder(url):
            guard isDirectory(url) else { throw ModelLocationError.notFound(path: url.path) }
            return url
        case let .hubCache(root, repoID, revision):
            let repo = try repoDirectory(root: root, repoID: repoID)
            return try snapshot(repo: repo, revision: revision)
        }
    }

    /// Resolves what a user typed: `--model` a plain folder, a cache folder `models--ORG--NAME`, or
    /// a repo id `ORG/NAME` (looked up in `cacheRoot`, default `defaultCacheRoot()`), plus an
    /// optional revision (default `main` for cache locations).
    public static func resolve(model: String, revision: String?, cacheRoot: URL? = nil) throws -> URL {
        let url = URL(fileURLWithPath: model)
        if isDirectory(url) {
            if url.lastPathComponent.hasPrefix("models--") {
                return try snapshot(repo: url, revision: revision ?? "main")
            }
            if let revision { throw ModelLocationError.revisionOnPlainFolder(path: url.path, revision: revision) }
            return url
        }
        if model.split(separator: "/").count == 2, !model.hasPrefix("/"), !model.hasPrefix(".") {
            return try resolve(.hubCache(root: cacheRoot ?? defaultCacheRoot(), repoID: model, revision: revision ?? "main"))
        }
        throw ModelLocationError.notFound(path: url.path)
    }

    /// `<root>/models--ORG--NAME` for a repo id `ORG/NAME`.
    public static func repoDirectory(root: URL, repoID: String) throws -> URL {
        let parts = repoID.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw ModelLocationError.invalidRepoID(repoID)
        }
        let repo = root.appendingPathComponent("models--\(parts[0])--\(parts[1])")
        guard isDirectory(repo) else {
            let cached = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
                .filter { $0.hasPrefix("models--") }
                .map { $0.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/") }
                .sorted()
            throw ModelLocationError.repoNotInCache(root: root.path, repoID: repoID, cached: cached)
        }
        return repo
    }

    /// The snapshot folder of `revision` inside a cache repo folder.
    public static func snapshot(repo: URL, revision: String) throws -> URL {
        let components = revision.split(separator: "/", omittingEmptySubsequences: false)
        guard !revision.isEmpty, components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw ModelLocationError.invalidRevision(revision)
        }
        let snapshots = repo.appendingPathComponent("snapshots")
        if isCommitHash(revision), isDirectory(snapshots.appendingPathComponent(revision)) {
            return snapshots.appendingPathComponent(revision)
        }
        let ref = repo.appendingPathComponent("refs").appendingPathComponent(revision)
        guard let data = FileManager.default.contents(atPath: ref.path), !isDirectory(ref) else {
            throw ModelLocationError.revisionNotFound(repo: repo.path, revision: revision, available: availableRevisions(repo: repo))
        }
        let commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard isCommitHash(commit) else {
            throw ModelLocationError.snapshotMissing(repo: repo.path, revision: revision, commit: commit)
        }
        let folder = snapshots.appendingPathComponent(commit)
        guard isDirectory(folder) else {
            throw ModelLocationError.snapshotMissing(repo: repo.path, revision: revision, commit: commit)
        }
        return folder
    }

    /// Revisions a cache repo folder can serve offline: its refs (Pythia steps in step order, others
    /// sorted) followed by snapshot commits no ref points to.
    public static func availableRevisions(repo: URL) -> [String] {
        let refsRoot = repo.appendingPathComponent("refs")
        var refs: [String] = []
        var referenced: Set<String> = []
        if let walker = FileManager.default.enumerator(atPath: refsRoot.path) {
            while let relative = walker.nextObject() as? String {
                let path = refsRoot.appendingPathComponent(relative).path
                guard !isDirectory(URL(fileURLWithPath: path)), let data = FileManager.default.contents(atPath: path) else { continue }
                refs.append(relative)
                referenced.insert(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        refs.sort { lhs, rhs in
            switch (PythiaRevision.step(of: lhs), PythiaRevision.step(of: rhs)) {
            case let (l?, r?): l < r
            case (.some, nil): false
            case (nil, .some): true
            case (nil, nil): lhs < rhs
            }
        }
        let commits = ((try? FileManager.default.contentsOfDirectory(atPath: repo.appendingPathComponent("snapshots").path)) ?? [])
            .filter { isCommitHash($0) && !referenced.contains($0) }
            .sorted()
        return refs + commits
    }

    /// The Hub cache root: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub` (huggingface_hub `constants.py`).
    public static func defaultCacheRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let cache = environment["HF_HUB_CACHE"], !cache.isEmpty { return URL(fileURLWithPath: cache) }
        if let home = environment["HF_HOME"], !home.isEmpty { return URL(fileURLWithPath: home).appendingPathComponent("hub") }
        let xdg = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache").path
        return URL(fileURLWithPath: xdg).appendingPathComponent("huggingface").appendingPathComponent("hub")
    }

    static func isCommitHash(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }
}
