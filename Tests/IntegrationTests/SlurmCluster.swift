import Foundation
import Testing

/// A real Slurm cluster of several nodes on this host (spec/cluster-testing.md §A): one
/// `munged`, one `slurmctld` and one `slurmd -N nX` per node, all on 127.0.0.1 with free ports,
/// state and logs in a temporary folder. Needs root and the Debian packages `slurm-wlm` and
/// `munge` (cluster/install-deps.sh installs them).
///
/// Teardown (deinit) follows the recipe: cancel every job and wait for the queue to empty
/// (killing only the daemons would leave `slurmstepd` and job processes behind), then stop the
/// daemons by the pids in their pid files, then `munged`, then remove the folder.
final class SlurmCluster {
    static let tools = ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "scontrol"]
    /// Seconds between a job's SIGTERM and its SIGKILL (`KillWait`; Slurm's default is 30).
    static let killWait = 5

    let dir: URL
    let nodes: [String]
    private var daemonsStarted = false
    private var mungeStarted = false

    var conf: URL { dir.appendingPathComponent("slurm.conf") }

    init(nodes count: Int = 4) {
        // Short: the munge socket path must fit in sockaddr_un.
        dir = URL(fileURLWithPath: "/tmp/cs-slurm-\(UUID().uuidString.prefix(8))")
        nodes = (1...count).map { "n\($0)" }
    }

    /// Why this machine cannot run a Slurm cluster, or `nil` when it can.
    static var unavailableReason: String? {
        if getuid() != 0 { return "needs root (slurmd runs jobs as their user)" }
        let missing = tools.filter { Command.find($0) == nil }
        if !missing.isEmpty { return "missing \(missing.joined(separator: ", ")) (apt-get install slurm-wlm munge)" }
        return nil
    }

    /// Starts munged, slurmctld and the slurmds, and waits until every node is idle.
    /// - Parameter cpusPerNode: may exceed the real core count (`SlurmdParameters=config_overrides`).
    /// - Returns: false, with the reason printed, when Slurm is unavailable or did not come up.
    func setUp(cpusPerNode: Int = 2) -> Bool {
        if let reason = Self.unavailableReason {
            print("Slurm tests skipped: \(reason)")
            return false
        }
        let fm = FileManager.default
        do {
            for sub in ["state", "log"] + nodes.map({ "spool/\($0)" }) {
                try fm.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            try configuration(cpusPerNode: cpusPerNode).write(to: conf, atomically: true, encoding: .utf8)
        } catch {
            Issue.record("cannot prepare \(dir.path): \(error)")
            return false
        }
        let d = dir.path
        guard step(Command.run("mungekey", ["-c", "-k", "\(d)/munge.key", "-b", "1024"]), "mungekey") else { return false }
        mungeStarted = true
        guard step(Command.run("munged", ["--socket=\(d)/munge.sock", "--key-file=\(d)/munge.key", "--pid-file=\(d)/munged.pid",
                                          "--seed-file=\(d)/munged.seed", "--log-file=\(d)/log/munged.log"]), "munged")
        else { return false }
        daemonsStarted = true
        guard step(Command.run("slurmctld", ["-f", conf.path]), "slurmctld") else { return false }
        for node in nodes {
            guard step(Command.run("slurmd", ["-f", conf.path, "-N", node]), "slurmd -N \(node)") else { return false }
        }
        let idle = Command.waitUntil(seconds: 20) {
            Set(client("sinfo", ["-h", "-N", "-t", "idle", "-o", "%N"]).text.split(separator: "\n")).count == nodes.count
        }
        if !idle {
            Issue.record("Slurm nodes did not become idle:\n\(client("sinfo", ["-N"]).text)\n\(log("slurmctld.log").suffix(1500))")
        }
        return idle
    }

    private func step(_ output: Command.Output, _ what: String) -> Bool {
        if !output.succeeded { Issue.record("\(what) failed (\(output.status)): \(output.text)") }
        return output.succeeded
    }

    /// slurm.conf after the recipe, with free ports so that concurrent clusters do not collide.
    private func configuration(cpusPerNode: Int) -> String {
        let d = dir.path
        var lines = [
            "ClusterName=cs\(dir.lastPathComponent.suffix(6).lowercased())",
            "SlurmctldHost=localhost",
            "SlurmctldPort=\(Cluster.freePort())",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=\(d)/munge.sock",
            "StateSaveLocation=\(d)/state",
            "SlurmdSpoolDir=\(d)/spool/%n",
            "SlurmctldPidFile=\(d)/slurmctld.pid",
            "SlurmdPidFile=\(d)/slurmd.%n.pid",
            "SlurmctldLogFile=\(d)/log/slurmctld.log",
            "SlurmdLogFile=\(d)/log/slurmd.%n.log",
            "MailProg=/bin/true",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            "JobCompLoc=\(d)/jobcomp.txt",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerParameters=batch_sched_delay=0",
            "SlurmdParameters=config_overrides",
            "ReturnToService=2",
            "KillWait=\(Self.killWait)",
            "MinJobAge=600",
        ]
        for node in nodes {
            lines.append("NodeName=\(node) NodeHostname=localhost NodeAddr=127.0.0.1 Port=\(Cluster.freePort()) "
                         + "CPUs=\(cpusPerNode) RealMemory=1000 State=UNKNOWN")
        }
        lines.append("PartitionName=debug Nodes=\(nodes.joined(separator: ",")) Default=YES MaxTime=INFINITE State=UP")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs a Slurm client command against this cluster.
    func client(_ tool: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) -> Command.Output {
        Command.run(tool, arguments, environment: environment.merging(["SLURM_CONF": conf.path]) { $1 }, directory: directory)
    }

    /// Submits a batch job; returns its job id (`--parsable` output).
    func sbatch(_ arguments: [String], environment: [String: String], directory: URL) throws -> String {
        let out = client("sbatch", ["--parsable"] + arguments, environment: environment, directory: directory)
        guard out.succeeded, let id = out.text.split(whereSeparator: { $0 == ";" || $0 == "\n" }).first else {
            throw SlurmError("sbatch \(arguments.joined(separator: " ")) failed: \(out.text)")
        }
        return String(id)
    }

    /// Every job (array tasks one by one) known to the controller, finished ones included.
    func jobs() -> [(id: String, state: String, node: String)] {
        client("squeue", ["-h", "-r", "-t", "all", "-o", "%i %T %N"]).text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            return f.count >= 2 ? (f[0], f[1], f.count > 2 ? f[2] : "") : nil
        }
    }

    /// The state of job (or array task) `id`, e.g. `RUNNING`, `COMPLETED`, `CANCELLED`.
    func state(_ id: String) -> String? { jobs().first { $0.id == id }?.state }

    func log(_ name: String) -> String { (try? String(contentsOf: dir.appendingPathComponent("log/\(name)"), encoding: .utf8)) ?? "" }

    private func pids(_ names: [String]) -> [pid_t] {
        names.compactMap { name in
            (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8))
                .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// SIGTERM to each pid, then waits (up to 10 s) for all of them to be gone.
    private func stop(_ pids: [pid_t]) {
        for pid in pids { kill(pid, SIGTERM) }
        _ = Command.waitUntil(seconds: 10) { pids.allSatisfy { kill($0, 0) != 0 } }
        for pid in pids where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }

    deinit {
        if daemonsStarted {
            _ = client("scancel", ["--user=root"])
            _ = Command.waitUntil(seconds: 20) {
                let queue = client("squeue", ["-h"])
                return !queue.succeeded || queue.text.isEmpty
            }
            stop(pids(["slurmctld.pid"] + nodes.map { "slurmd.\($0).pid" }))
        }
        if mungeStarted { stop(pids(["munged.pid"])) }
        try? FileManager.default.removeItem(at: dir)
    }
}

struct SlurmError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
