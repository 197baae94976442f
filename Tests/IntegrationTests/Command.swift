import Foundation

/// Runs a system tool to completion, bounded in time, with its output captured.
///
/// Output goes to a temporary file, not a pipe: a daemon that forks (munged, slurmctld) keeps
/// its inherited descriptors, and a pipe would then never reach end-of-file.
enum Command {
    /// What a command did (also the failure of ``spawn(_:_:environment:directory:log:)``).
    struct Output: Error {
        var status: Int32
        var text: String
        var timedOut: Bool
        var succeeded: Bool { status == 0 && !timedOut }
    }

    /// The absolute path of `tool` in the usual system folders, or `nil`.
    static func find(_ tool: String) -> String? {
        ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"]
            .map { "\($0)/\(tool)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `executable` (an absolute path, or a tool name looked up with ``find(_:)``) and waits
    /// at most `timeout` seconds; a process still running then is killed (SIGKILL, by pid).
    /// - Parameter environment: added to (and overriding) this process's environment.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil, timeout: Double = 30) -> Output {
        let log = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cs-cmd-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let pid: pid_t
        switch spawn(executable, arguments, environment: environment, directory: directory, log: log) {
        case .success(let spawned): pid = spawned
        case .failure(let failure): return failure
        }
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        var status: Int32?
        while status == nil {
            switch reap(pid) {
            case .success(let exit): status = exit
            case .failure(let failure): return failure
            }
            if status == nil, Date() >= deadline, !timedOut {
                timedOut = true
                kill(pid, SIGKILL)
            }
            if status == nil { usleep(10_000) }
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return Output(status: status ?? -1, text: text, timedOut: timedOut)
    }

    /// Starts `executable` in the background with stdin from /dev/null and stdout and stderr
    /// appended to `log`. Stop it with ``stop(_:)``.
    ///
    /// Spawned with `posix_spawn` and reaped with `waitpid`, not with Foundation's `Process`:
    /// `Process` notices an exit when a socket it shares with the child reaches end-of-file, then
    /// waits for the child with a blocking `waitpid` on the one thread that serves every
    /// `Process`. A daemon that closes its inherited descriptors (sshd) and keeps running blocks
    /// that thread, and no other `Process` is ever seen to exit; one that forks (munged,
    /// slurmctld) keeps the socket open, and `Process` waits for the daemon instead.
    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                      directory: URL? = nil, log: URL) -> Result<pid_t, Output> {
        guard let path = executable.hasPrefix("/") ? executable : find(executable) else {
            return .failure(Output(status: 127, text: "\(executable): not found", timedOut: false))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // posix_spawn_file_actions_addchdir_np does not import: `env -C DIR` changes folder.
        let argv = directory.map { ["/usr/bin/env", "-C", $0.path, path] } ?? [path]
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = withCStrings(argv + arguments) { argv in
            withCStrings(env) { envp in posix_spawn(&pid, argv[0]!, &actions, nil, argv, envp) }
        }
        guard spawned == 0 else {
            return .failure(Output(status: 126, text: "\(path): \(String(cString: strerror(spawned)))", timedOut: false))
        }
        return .success(pid)
    }

    /// SIGKILL to a process from ``spawn(_:_:environment:directory:log:)``, then reaps it.
    static func stop(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    }

    /// The exit status of a spawned child that has ended (128 + signal when killed), `nil`
    /// while it runs.
    private static func reap(_ pid: pid_t) -> Result<Int32?, Output> {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == 0 || (reaped < 0 && errno == EINTR) { return .success(nil) }
        guard reaped == pid else {
            return .failure(Output(status: -1, text: "waitpid(\(pid)): \(String(cString: strerror(errno)))", timedOut: false))
        }
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros do not import).
        return .success((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
    }

    /// Calls `body` with a NULL-terminated C array of `strings`.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }

    /// Polls `condition` every 100 ms until it holds, up to `seconds`.
    static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }
}
