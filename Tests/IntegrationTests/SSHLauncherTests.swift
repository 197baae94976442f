import Foundation
import Sweep
import Testing

/// cluster/ssh/workers.sh through a real sshd (spec/cluster-testing.md "SSH between
/// namespaces"): hosts h1–h4 are network namespaces; h2–h4 run sshd on 10.213.0.x:2222 under
/// their own host names; the launcher runs in h1 next to the coordinator, which binds
/// 10.213.0.1 with CURVE keys and an allow-list, each host holding its own worker key.
extension ClusterProcessTests {
    @Suite(.serialized) struct SSHLauncherTests {
        static let launcher = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("cluster/ssh/workers.sh").path

        /// start (no coordinator yet) → status shows every worker running → stop → all gone; then
        /// the coordinator starts, the launcher starts the workers again and they finish the sweep,
        /// each host with its own key.
        @Test(.timeLimit(.minutes(2)))
        func launcherStartsStopsAndRunsWorkersOverSSH() throws {
            guard let binary = Binary.url else { _ = Binary.available; return }
            let missing = ["sshd", "ssh", "ssh-keygen", "unshare", "ss"].filter { Command.find($0) == nil }
            guard missing.isEmpty, let sshd = Command.find("sshd"), let ip = NamespaceNetwork.ip else {
                print("SSHLauncherTests skipped: missing \(missing.joined(separator: ", ")) (apt-get install openssh-server)")
                return
            }
            let network = NamespaceNetwork(hostCount: 4)
            guard network.setUp() else { return }
            let cluster = try Cluster(yaml: Cluster.sweep(units: 6, method: "sleep", seconds: 0.2, tasks: 2))
            let d = cluster.dir.path

            // Keys: CURVE for circuitsweep (one worker key per host), ed25519 for ssh.
            let keys = try cluster.start(["keys", "generate", "--out", "keys", "--workers", "3"], log: "keys.log")
            #expect(cluster.wait(keys, seconds: 20) && keys.terminationStatus == 0, "\(cluster.log("keys.log"))")
            for key in ["host_key", "client_key"] {
                let made = Command.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", "\(d)/\(key)"])
                try #require(made.succeeded, "ssh-keygen: \(made.text)")
            }
            try FileManager.default.copyItem(atPath: "\(d)/client_key.pub", toPath: "\(d)/authorized_keys")
            try """
                Port 2222
                HostKey \(d)/host_key
                AuthorizedKeysFile \(d)/authorized_keys
                StrictModes no
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                UsePAM no
                """.write(toFile: "\(d)/sshd_config", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)  // privilege separation
            // Not Foundation's Process: sshd closes the descriptor Process watches (see Command.spawn).
            var sshdPIDs: [pid_t] = []
            defer { sshdPIDs.forEach(Command.stop) }
            for n in 2...4 {
                let host = network.hosts[n - 1]
                let spawned = Command.spawn(ip, ["netns", "exec", host, "unshare", "--uts", "sh", "-c",
                                                 "hostname h\(n); exec \(sshd) -D -f \(d)/sshd_config "
                                                 + "-o ListenAddress=10.213.0.\(n) -o PidFile=\(d)/sshd-h\(n).pid"],
                                            log: cluster.dir.appendingPathComponent("sshd-h\(n).log"))
                sshdPIDs.append(try spawned.get())
                #expect(Command.waitUntil(seconds: 10) {
                    network.exec(host, ["ss", "-ltn"]).text.contains("10.213.0.\(n):2222")
                }, "sshd on h\(n) is not listening:\n\(cluster.log("sshd-h\(n).log"))")
            }
            try """
                # host, workers there, that host's options
                root@10.213.0.2 1 --curve-name worker-001
                root@10.213.0.3 1 --curve-name worker-002
                root@10.213.0.4 2 --curve-name worker-003   # two workers, one key
                """.write(toFile: "\(d)/hosts", atomically: true, encoding: .utf8)
            let endpoint = "tcp://10.213.0.1:\(cluster.port)"
            let environment = [
                "CIRCUITSWEEP": binary.path, "RUN_DIR": "\(d)/run",
                "SSH_OPTS": "-p 2222 -i \(d)/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            ]
            func launcher(_ arguments: [String]) -> Command.Output {
                network.exec(network.hosts[0], ["bash", Self.launcher] + arguments, environment: environment, directory: cluster.dir)
            }
            /// The state words of `status` (`running`, `gone`, `none`), one per worker or host.
            func states() -> [Substring] {
                launcher(["status", "\(d)/hosts"]).text.split(separator: "\n").compactMap { line in
                    let words = line.split(separator: " ")
                    return words.count >= 2 && ["running", "gone", "none"].contains(words[1]) ? words[1] : nil
                }
            }
            let workerOptions = ["--curve-keys", "\(d)/keys", "--grace", "1", "--capacity", "1", "--log-level", "debug"]

            // start and stop, with no coordinator yet: the workers wait, then leave on SIGTERM.
            let started = launcher(["start", "\(d)/hosts", endpoint] + workerOptions)
            #expect(started.succeeded, "start: \(started.text)")
            #expect(started.text.split(separator: "\n").filter { $0.contains(": started ") }.count == 4, "\(started.text)")
            #expect(states() == Array(repeating: "running", count: 4), "status: \(launcher(["status", "\(d)/hosts"]).text)")
            let stopped = launcher(["stop", "\(d)/hosts"])
            let stoppedPIDs = stopped.text.split(separator: "\n").compactMap { line in
                line.contains(": stopping ") ? line.split(separator: " ").last.flatMap { pid_t($0) } : nil
            }
            #expect(stopped.succeeded && stoppedPIDs.count == 4, "stop: \(stopped.text)")
            #expect(Command.waitUntil(seconds: 10) { stoppedPIDs.allSatisfy { kill($0, 0) != 0 } }, "a worker outlived stop")
            #expect(states() == Array(repeating: "none", count: 3), "status after stop: \(launcher(["status", "\(d)/hosts"]).text)")
            let logs = try FileManager.default.contentsOfDirectory(atPath: "\(d)/run").filter { $0.hasSuffix(".log") }
            let exited = try logs.filter { try String(contentsOfFile: "\(d)/run/\($0)", encoding: .utf8).contains("worker exiting") }
            #expect(exited.count == 4, "workers that left cleanly on SIGTERM: \(exited) of \(logs)")

            // The real run.
            let coordinator = try cluster.start(["coordinator", "sweep.yaml", "--bind", endpoint, "--curve-keys", "keys",
                                                 "--log-level", "debug"], log: "coordinator.log", namespace: network.hosts[0])
            let again = launcher(["start", "\(d)/hosts", endpoint] + workerOptions)
            #expect(again.succeeded, "start: \(again.text)")
            #expect(cluster.wait(coordinator, seconds: 60), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            #expect(!coordinator.isRunning && coordinator.terminationStatus == 0)
            try cluster.expectAllDoneOnce(units: 12)
            let status = try cluster.journal().status(errorLimit: 0)
            #expect(Set(status.workers.map(\.host)) == ["h2", "h3", "h4"], "workers: \(status.workers.map { ($0.id, $0.host) })")
            let log = cluster.log("coordinator.log")
            for n in 1...3 {
                let pub = try String(contentsOfFile: "\(d)/keys/worker-00\(n).pub", encoding: .utf8)
                let key = pub.split(separator: "\n").first { $0.hasPrefix("public-key") }?.split(separator: "=").last
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(key.map { log.contains("ZAP admitted a client") && log.contains($0) } == true, "worker-00\(n) was not admitted")
            }
            // Every worker left with the sweep: status reports each one gone.
            #expect(Command.waitUntil(seconds: 15) { states() == Array(repeating: "gone", count: 4) },
                    "status after the sweep: \(launcher(["status", "\(d)/hosts"]).text)")
        }
    }
}
