import Foundation
import HDF5
import Testing
@testable import Results

@Suite("Unit result files")
struct UnitResultFileTests {
    @Test func fullResultRoundTrips() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("full.h5")
        let result = Sample.full()
        #expect(result.attribution?.edgeNames.count == 102)  // spec/eap-ig.md §2.4 for L=2, H=4
        let receipt = try UnitResultFile.write(result, to: url)
        #expect(receipt.sha256 == (try UnitResultFile.sha256(of: url)))
        #expect(receipt.byteCount == (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int))
        let back = try UnitResultFile.read(url)
        #expect(back == result)
        try UnitResultFile.verify(url, expectedSHA256: receipt.sha256.uppercased())
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["full.h5"])
    }

    @Test func equalContentGivesEqualBytes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let first = try UnitResultFile.write(Sample.full(), to: folder.file("a.h5"))
        usleep(1_100_000)  // A time stamp anywhere in the file would now differ.
        let second = try UnitResultFile.write(Sample.full(), to: folder.file("b.h5"))
        #expect(first.sha256 == second.sha256)
    }

    @Test func headsOnlyAndMinimalUnitsRoundTrip() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let heads = Sample.headsOnly()
        try UnitResultFile.write(heads, to: folder.file("heads.h5"))
        #expect(try UnitResultFile.read(folder.file("heads.h5")) == heads)

        let bare = UnitResult(identity: UnitIdentity(unitID: "u", model: "m", revision: "r", task: "t"),
                              provenance: Provenance(softwareVersion: "v", host: "h"))
        try UnitResultFile.write(bare, to: folder.file("bare.h5"))
        #expect(try UnitResultFile.read(folder.file("bare.h5")) == bare)
    }

    @Test func s2iChecksRoundTripWithNaNWhereNotMeasured() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("s2i.h5")
        let result = Sample.withS2IChecks()
        try UnitResultFile.write(result, to: url)
        let back = try UnitResultFile.read(url)
        let checks = try #require(result.s2iChecks), read = try #require(back.s2iChecks)
        #expect(back.headScores == result.headScores)
        #expect(read.layers == 6 && read.heads == 8 && read.flips == checks.flips && read.candidateSource == "circuit")
        #expect(read.candidates == checks.candidates && read.nameMovers == checks.nameMovers && read.s2i == checks.s2i)
        #expect(read.baseline == checks.baseline)
        for (ours, theirs) in zip([read.logitDiffChange, read.ioAttentionChange, read.s1AttentionChange, read.s2AttentionChange],
                                  [checks.logitDiffChange, checks.ioAttentionChange, checks.s1AttentionChange, checks.s2AttentionChange]) {
            #expect(sameFloats(ours, theirs))
        }
        #expect(read.logitDiffChange[0].isNaN && !read.logitDiffChange[1].isNaN)
        try UnitResultFile.verify(url, expectedSHA256: nil)

        // Nothing measured (no name mover): no baseline, still readable.
        var empty = result
        empty.s2iChecks?.baseline = nil
        empty.s2iChecks?.s2i = [Bool](repeating: false, count: 48)
        try UnitResultFile.write(empty, to: url)
        #expect(try UnitResultFile.read(url).s2iChecks?.baseline == nil)
    }

    @Test func inconsistentS2IChecksAreRejected() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("never.h5")
        var notCandidate = Sample.withS2IChecks()
        notCandidate.s2iChecks?.s2i[0] = true
        var shortChanges = Sample.withS2IChecks()
        shortChanges.s2iChecks?.s1AttentionChange.removeLast()
        var otherShape = Sample.withS2IChecks()
        otherShape.headScores["copy"] = nil
        otherShape.headScores["induction"] = HeadScores(layers: 8, heads: 6, values: [Float](repeating: 0, count: 48))
        for bad in [notCandidate, shortChanges, otherShape] {
            #expect(throws: UnitResultError.self) { try UnitResultFile.write(bad, to: url) }
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func inconsistentResultsAreRejectedBeforeWriting() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("never.h5")
        var nan = Sample.full()
        nan.attribution?.scores[3] = .nan
        var shortMask = Sample.full()
        shortMask.circuits[0].mask.removeLast()
        var badName = Sample.full()
        badName.attribution?.edgeNames[0] = "input to a0.h0<q>"
        var maskWithoutAttribution = Sample.headsOnly()
        maskWithoutAttribution.circuits = [SizedCircuit(requestedEdges: 1, mask: [true], metric: 0, edgeCount: 1, nodeCount: 2)]
        var headShapes = Sample.headsOnly()
        headShapes.headScores["copy"] = HeadScores(layers: 2, heads: 2, values: [0, 0, 0, 0])
        for bad in [nan, shortMask, badName, maskWithoutAttribution, headShapes] {
            #expect(throws: UnitResultError.self) { try UnitResultFile.write(bad, to: url) }
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }

    @Test func edgeNameTableFactorsAndRebuildsNames() throws {
        let names = UnitResultBenchmark.parallelGraphEdgeNames(layers: 3, heads: 4)
        // spec/eap-ig.md §2.4: parallel E = (3H+1)·[L + (H+1)·L(L−1)/2] + 1 + L(H+1).
        #expect(names.count == 13 * (3 + 5 * 3) + 1 + 15)
        #expect(names.first == "input->a0.h0<q>")
        #expect(names.last == "m2->logits")
        let table = try EdgeNameTable(factoring: names)
        #expect(table.senders.count == 1 + 3 * 5)
        #expect(table.receivers.count == 3 * 13 + 1)
        #expect(table.names() == names)
    }

    @Test(.enabled(if: PythonH5py.interpreter != nil, "python3 with h5py is not installed; cannot check h5py compatibility"))
    func h5pyReadsEveryDocumentedDatasetAndAttribute() throws {
        let python = try #require(PythonH5py.interpreter)
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = folder.file("h5py.h5")
        let result = Sample.full()
        try UnitResultFile.write(result, to: url)
        let namesFile = folder.file("names.txt")
        try Data((result.attribution?.edgeNames ?? []).joined(separator: "\n").utf8).write(to: namesFile)
        let script = folder.file("check.py")
        try Data(Self.h5pyScript.utf8).write(to: script)
        let run = try PythonH5py.run(python, [script.path, url.path, namesFile.path])
        #expect(run.status == 0, "h5py check failed:\n\(run.output)")
        #expect(run.output.contains("h5py layout OK"), "\(run.output)")
    }

    /// Checks the layout of schemas/unit-result.md with h5py: names, dtypes and shapes.
    static let h5pyScript = #"""
    import sys, h5py, numpy as np
    path, names_path = sys.argv[1], sys.argv[2]
    expected_names = open(names_path, encoding="utf-8").read().split("\n")
    E = len(expected_names)
    f = h5py.File(path, "r")
    problems = []
    def check(cond, what):
        if not cond: problems.append(what)
    def attr(obj, name, kind, shape=None):
        if name not in obj.attrs:
            problems.append(f"missing attribute {obj.name}@{name}"); return None
        v = obj.attrs[name]
        if kind == "str":
            check(isinstance(v, str), f"{obj.name}@{name} is {type(v)}, not str")
        elif kind == "str[]":
            check(isinstance(v, np.ndarray) and v.ndim == 1 and all(isinstance(x, str) for x in v), f"{obj.name}@{name} not a str array: {v!r}")
        else:
            a = np.asarray(v)
            check(a.dtype == np.dtype(kind), f"{obj.name}@{name} dtype {a.dtype}, expected {kind}")
            if shape is not None: check(a.shape == shape, f"{obj.name}@{name} shape {a.shape}, expected {shape}")
        return v
    def ds(name, dtype, shape):
        if name not in f:
            problems.append(f"missing dataset {name}"); return None
        d = f[name]
        if dtype == "str":
            check(h5py.check_string_dtype(d.dtype) is not None, f"{name} dtype {d.dtype}, expected str")
        else:
            check(d.dtype == np.dtype(dtype), f"{name} dtype {d.dtype}, expected {dtype}")
        check(d.shape == shape, f"{name} shape {d.shape}, expected {shape}")
        return d
    check(attr(f, "format", "str") == "circuitsweep.unit-result", "format value")
    check(attr(f, "schema_version", "<i8", ()) == 1, "schema_version value")
    for a in ["unit_id", "model", "revision", "task", "software_version", "host", "checkpoint_sha256",
              "dataset_hash", "method", "method_metric", "dtype"]:
        attr(f, a, "str")
    for a in ["parameter_count", "training_step", "tokens_seen", "method_steps", "method_batch_size"]:
        attr(f, a, "<i8", ())
    attr(f, "method_batch_normalized", "|u1", ())
    attr(f, "numerics_flags", "str[]")
    phases = attr(f, "timing_phases", "str[]")
    attr(f, "timing_seconds", "<f8", (len(phases),))
    g = f["attribution"]
    check(attr(g, "n_edges", "<i8", ()) == E, "n_edges value")
    L = int(attr(g, "n_layers", "<i8", ())); H = int(attr(g, "n_heads", "<i8", ()))
    attr(g, "parallel_attn_mlp", "|u1", ())
    ds("attribution/scores", "<f4", (E,))
    check(attr(f["attribution/edges"], "encoding", "str") == "sender_receiver_index", "encoding value")
    e = f["attribution/edges"]
    S = e["senders"].shape[0]; R = e["receivers"].shape[0]
    ds("attribution/edges/senders", "str", (S,)); ds("attribution/edges/receivers", "str", (R,))
    ds("attribution/edges/sender_index", "<i4", (E,)); ds("attribution/edges/receiver_index", "<i4", (E,))
    senders = e["senders"].asstr()[:]; receivers = e["receivers"].asstr()[:]
    names = [senders[s] + "->" + receivers[r] for s, r in zip(e["sender_index"][:], e["receiver_index"][:])]
    check(names == expected_names, "edge names differ from the written ones")
    sizes = [k for k in f["circuits"].keys() if k.isdigit()]
    check(len(sizes) > 0, "no sized circuits")
    for n in sizes:
        m = ds(f"circuits/{n}/mask", "|u1", (E,))
        check(set(np.unique(m[:])) <= {0, 1}, f"mask {n} not 0/1")
        ds(f"circuits/{n}/metric", "<f8", ()); ds(f"circuits/{n}/n_edges", "<i8", ()); ds(f"circuits/{n}/n_nodes", "<i8", ())
    K = f["circuits/faithfulness/sizes"].shape[0]
    ds("circuits/faithfulness/sizes", "<i8", (K,))
    ds("circuits/faithfulness/values_ratio", "<f8", (K,)); ds("circuits/faithfulness/values_normalized", "<f8", (K,))
    ds("circuits/minimal/mask", "|u1", (E,))
    for k in ["n_edges", "n_nodes"]: ds(f"circuits/minimal/{k}", "<i8", ())
    for k in ["faithfulness", "threshold"]: ds(f"circuits/minimal/{k}", "<f8", ())
    ds("circuits/minimal/normalization", "str", ())
    check(f["circuits/minimal/normalization"].asstr()[()] in ("ratio", "normalized"), "normalization value")
    ds("baseline/full_metric", "<f8", ()); ds("baseline/empty_metric", "<f8", ())
    attr(f["behaviour"], "metric", "str")
    ds("behaviour/metric_mean", "<f8", ()); ds("behaviour/accuracy", "<f8", ())
    ds("behaviour/per_example", "<f8", (f["behaviour/per_example"].shape[0],))
    for k in ["induction", "previous_token", "duplicate_token", "successor", "copy", "copy_suppression", "s_inhibition"]:
        ds(f"heads/{k}", "<f4", (L, H))
    for name in ["attribution/scores", "attribution/edges/sender_index", "circuits/minimal/mask"]:
        d = f[name]
        check(d.chunks is not None and d.compression == "gzip" and d.fletcher32, f"{name} not chunked+gzip+fletcher32")
    if problems:
        print("\n".join(problems)); sys.exit(1)
    print("h5py layout OK", E, "edges")
    """#
}
