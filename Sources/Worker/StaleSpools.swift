import Foundation

/// Spool folders that workers on this host left behind when they were killed (SIGKILL, e.g.
/// Slurm after KillWait, or the OOM killer): `circuitsweep-worker-<host>-<pid>-<hex>` whose
/// process is gone. A starting worker removes them, so killed workers do not slowly fill
/// `/dev/shm` (memory) with results nobody will send. Pure: the caller lists and removes.
enum StaleSpools {
    static let prefix = "circuitsweep-worker-"

    /// The names among `names` that belong to a default-named worker of `host` whose pid is not
    /// alive. Names with a custom worker id (`--id`) are never stale: their owner is unknown.
    static func stale(_ names: [String], host: String, isAlive: (Int32) -> Bool) -> [String] {
        let ownPrefix = prefix + host + "-"
        return names.filter { name in
            guard name.hasPrefix(ownPrefix) else { return false }
            let parts = name.dropFirst(ownPrefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, !parts[1].isEmpty,
                  parts[1].allSatisfy(\.isHexDigit) else { return false }
            return !isAlive(pid)
        }
    }

    /// Whether a process with this pid exists (signal 0; EPERM means it exists, not ours).
    static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
