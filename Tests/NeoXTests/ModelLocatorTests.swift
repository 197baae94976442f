import Foundation
@testable import NeoX
import Testing

/// Model locations: plain folders, and a synthetic Hugging Face cache built in a temp dir.
@Suite struct ModelLocatorTests {
    /// A cache holding `EleutherAI/pythia-tiny` with two commits: step0 → A (neox-tiny),
    /// step1000 and main → B (neox-tiny-fp16), step2000 → C (the same bytes as A, another commit).
    /// Files are relative symlinks into `blobs/`, named by their sha256, as huggingface_hub writes them.
    struct SyntheticCache {
        let root: URL
        let repo: URL
        let commitA = String(repeating: "a", count: 40)
        let commitB = String(repeating: "b", count: 40)
        let commitC = "0123456789abcdef0123456789abcdef01234567"

        init() throws {
            root = try LoaderFixtures.temporaryDirectory()
            repo = root.appendingPathComponent("models--EleutherAI--pythia-tiny")
            let fm = FileManager.default
            try fm.createDirectory(at: repo.appendingPathComponent("blobs"), withIntermediateDirectories: true)
            try fm.createDirectory(at: repo.appendingPathComponent("refs/pr"), withIntermediateDirectories: true)
            for (commit, source) in [(commitA, "neox-tiny"), (commitB, "neox-tiny-fp16"), (commitC, "neox-tiny")] {
                let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
                try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
                for name in ["config.json", "model.safetensors"] {
                    let sourceFile = LoaderFixtures.model(source).appendingPathComponent(name)
                    let etag = try ContentHash.sha256(ofFile: sourceFile)
                    let blob = repo.appendingPathComponent("blobs/\(etag)")
                    if !fm.fileExists(atPath: blob.path) { try fm.copyItem(at: sourceFile, to: blob) }
                    try fm.createSymbolicLink(atPath: snapshot.appendingPathComponent(name).path, withDestinationPath: "../../blobs/\(etag)")
                }
            }
            for (ref, commit) in [("step0", commitA), ("step1000", commitB), ("main", commitB), ("step2000", commitC), ("pr/1", commitA)] {
                try Data(commit.utf8).write(to: repo.appendingPathComponent("refs/\(ref)"))
            }
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    @Test func resolvesBranchesCommitsAndRepoIDs() throws {
        let cache = try SyntheticCache()
        defer { cache.remove() }
        let snapshots = cache.repo.appendingPathComponent("snapshots")
        let at = { (revision: String) in
            try ModelLocator.resolve(.hubCache(root: cache.root, repoID: "EleutherAI/pythia-tiny", revision: revision))
        }
        #expect(try at("step0") == snapshots.appendingPathComponent(cache.commitA))
        #expect(try at("main") == snapshots.appendingPathComponent(cache.commitB))
        #expect(try at("pr/1") == snapshots.appendingPathComponent(cache.commitA))
        #expect(try at(cache.commitC) == snapshots.appendingPathComponent(cache.commitC))
        #expect(try ModelLocator.resolve(model: cache.repo.path, revision: "step1000") == snapshots.appendingPathComponent(cache.commitB))
        #expect(try ModelLocator.resolve(model: cache.repo.path, revision: nil) == snapshots.appendingPathComponent(cache.commitB))
        #expect(try ModelLocator.resolve(model: "EleutherAI/pythia-tiny", revision: "step2000", cacheRoot: cache.root)
            == snapshots.appendingPathComponent(cache.commitC))
        let plain = LoaderFixtures.model("neox-tiny")
        #expect(try ModelLocator.resolve(model: plain.path, revision: nil) == plain)
        #expect(throws: ModelLocationError.revisionOnPlainFolder(path: plain.path, revision: "main")) {
            _ = try ModelLocator.resolve(model: plain.path, revision: "main")
        }
    }

    @Test func loadsThroughSymlinksAndDetectsIdenticalWeights() throws {
        let cache = try SyntheticCache()
        defer { cache.remove() }
        let load = { (revision: String) in
            try NeoXCheckpoint.load(.hubCache(root: cache.root, repoID: "EleutherAI/pythia-tiny", revision: revision))
        }
        let step0 = try load("step0"), step1000 = try load("step1000"), step2000 = try load("step2000")
        let reference = try NeoXCheckpoint.load(from: LoaderFixtures.model("neox-tiny"))
        #expect(LoaderFixtures.namedTensors(step0.weights) == LoaderFixtures.namedTensors(reference.weights))
        #expect(step0.contentHash == step2000.contentHash)
        #expect(step0.contentHash != step1000.contentHash)
        // The hash of a single-file checkpoint is its blob name (the Hub LFS etag).
        let blob = try FileManager.default.destinationOfSymbolicLink(
            atPath: cache.repo.appendingPathComponent("snapshots/\(cache.commitB)/model.safetensors").path)
        #expect(blob.hasSuffix(step1000.contentHash))
    }

    @Test func missingRevisionListsWhatIsAvailable() throws {
        let cache = try SyntheticCache()
        defer { cache.remove() }
        let error = LoaderFixtures.error(ModelLocationError.self) {
            _ = try ModelLocator.resolve(.hubCache(root: cache.root, repoID: "EleutherAI/pythia-tiny", revision: "step3000"))
        }
        #expect(error == .revisionNotFound(repo: cache.repo.path, revision: "step3000",
                                           available: ["main", "pr/1", "step0", "step1000", "step2000"]))
        #expect(error?.description.contains("step3000") == true && error?.description.contains("step1000") == true)
        // A commit with no snapshot, a dangling ref, a repo not in the cache, path tricks.
        #expect(throws: ModelLocationError.self) {
            _ = try ModelLocator.resolve(.hubCache(root: cache.root, repoID: "EleutherAI/pythia-tiny", revision: String(repeating: "c", count: 40)))
        }
        try Data(String(repeating: "d", count: 40).utf8).write(to: cache.repo.appendingPathComponent("refs/step4000"))
        #expect(throws: ModelLocationError.snapshotMissing(repo: cache.repo.path, revision: "step4000", commit: String(repeating: "d", count: 40))) {
            _ = try ModelLocator.resolve(.hubCache(root: cache.root, repoID: "EleutherAI/pythia-tiny", revision: "step4000"))
        }
        #expect(throws: ModelLocationError.repoNotInCache(root: cache.root.path, repoID: "EleutherAI/pythia-70m", cached: ["EleutherAI/pythia-tiny"])) {
            _ = try ModelLocator.resolve(.hubCache(root: cache.root, repoID: "EleutherAI/pythia-70m", revision: "main"))
        }
        for revision in ["../../x", "", "refs/../main", "/etc"] {
            #expect(throws: ModelLocationError.invalidRevision(revision)) {
                _ = try ModelLocator.resolve(.hubCache(root: cache.root, repoID: "EleutherAI/pythia-tiny", revision: revision))
            }
        }
        #expect(throws: ModelLocationError.invalidRepoID("pythia")) {
            _ = try ModelLocator.resolve(.hubCache(root: cache.root, repoID: "pythia", revision: "main"))
        }
    }

    @Test func pythiaRevisions() {
        #expect(PythiaRevision.steps.count == 154)
        #expect(PythiaRevision.all.prefix(12) == ["step0", "step1", "step2", "step4", "step8", "step16", "step32", "step64",
                                                  "step128", "step256", "step512", "step1000"])
        #expect(PythiaRevision.all.last == "step143000")
        #expect(PythiaRevision.steps == PythiaRevision.steps.sorted() && Set(PythiaRevision.steps).count == 154)
        #expect(PythiaRevision.step(of: "step143000") == 143_000 && PythiaRevision.step(of: "step0") == 0)
        for bad in ["main", "step", "step-1", "step01", "stepx", "Step10", "step١٢"] { #expect(PythiaRevision.step(of: bad) == nil, "\(bad)") }
        #expect(PythiaRevision.isCheckpoint(step: 512) && !PythiaRevision.isCheckpoint(step: 1024) && !PythiaRevision.isCheckpoint(step: 143_500))
        #expect(PythiaRevision.steps(in: 100...3000) == [128, 256, 512, 1000, 2000, 3000])
    }

    @Test func defaultCacheRootFollowsHuggingFaceHub() {
        #expect(ModelLocator.defaultCacheRoot(environment: ["HF_HUB_CACHE": "/c", "HF_HOME": "/h"]).path == "/c")
        #expect(ModelLocator.defaultCacheRoot(environment: ["HF_HOME": "/h", "XDG_CACHE_HOME": "/x"]).path == "/h/hub")
        #expect(ModelLocator.defaultCacheRoot(environment: ["XDG_CACHE_HOME": "/x"]).path == "/x/huggingface/hub")
    }
}
