import Foundation
import Testing

/// Hosts as network namespaces on one machine (spec/cluster-testing.md §B): the coordinator on
/// 10.213.0.1, workers on .2 and .3, joined by a bridge in a namespace of their own. Only
/// addresses inside these namespaces are used; nothing touches the root namespace's network.
final class NamespaceNetwork {
    let bridge: String
    let hosts: [String]
    private(set) var ready = false

    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    init(hostCount: Int) {
        let tag = String(getpid() % 100_000)
        bridge = "csbr\(tag)"
        hosts = (1...hostCount).map { "csh\($0)x\(tag)" }
    }

    /// Creates the namespaces; false (with the reason printed) when this machine cannot.
    func setUp() -> Bool {
        guard getuid() == 0, Self.ip != nil else {
            print("network-namespace tests skipped: needs root and iproute2")
            return false
        }
        var ok = run(["netns", "add", bridge]) && run(["-n", bridge, "link", "set", "lo", "up"])
            && run(["-n", bridge, "link", "add", "br0", "type", "bridge"]) && run(["-n", bridge, "link", "set", "br0", "up"])
        for (i, host) in hosts.enumerated() where ok {
            let n = i + 1
            ok = run(["netns", "add", host]) && run(["-n", host, "link", "set", "lo", "up"])
                && run(["-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "p\(n)", "netns", bridge])
                && run(["-n", host, "addr", "add", "10.213.0.\(n)/24", "dev", "eth0"]) && run(["-n", host, "link", "set", "eth0", "up"])
                && run(["-n", bridge, "link", "set", "p\(n)", "master", "br0"]) && run(["-n", bridge, "link", "set", "p\(n)", "up"])
        }
        if !ok { print("network-namespace tests skipped: could not create network namespaces") }
        ready = ok
        return ok
    }

    /// Takes host `n`'s link (1-based) down or up at the bridge.
    func setLink(host n: Int, up: Bool) -> Bool {
        run(["-n", bridge, "link", "set", "p\(n)", up ? "up" : "down"])
    }

    deinit {
        for name in hosts + [bridge] {
            for pid in output(["netns", "pids", name]).split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            _ = run(["netns", "del", name])
        }
    }

    @discardableResult
    func run(_ arguments: [String]) -> Bool {
        guard let ip = Self.ip else { return false }
        return Command.run(ip, arguments).succeeded
    }

    private func output(_ arguments: [String]) -> String {
        guard let ip = Self.ip else { return "" }
        return Command.run(ip, arguments).text
    }

    /// Runs a command inside host namespace `host` (`ip netns exec`), bounded in time.
    func exec(_ host: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) -> Command.Output {
        guard let ip = Self.ip else { return Command.Output(status: 127, text: "ip: not found", timedOut: false) }
        return Command.run(ip, ["netns", "exec", host] + arguments, environment: environment, directory: directory)
    }
}

extension ClusterProcessTests {
    @Suite(.serialized) struct NetworkPartitionTests {
        @Test(.timeLimit(.minutes(1)))
        func workerLinkCutPastItsLeaseAndRestoredEveryUnitDoneOnce() throws {
            guard Binary.available else { return }
            let network = NamespaceNetwork(hostCount: 3)
            guard network.setUp() else { return }
            let cluster = try Cluster(yaml: Cluster.sweep(units: 8, method: "sleep", seconds: 0.3, lease: 2, heartbeat: 0.25, tasks: 2))
            let endpoint = "tcp://10.213.0.1:\(cluster.port)"
            let coordinator = try cluster.start(["coordinator", "sweep.yaml", "--bind", endpoint, "--insecure", "--log-level", "debug"],
                                                log: "coordinator.log", namespace: network.hosts[0])
            usleep(300_000)
            try cluster.start(["worker", "--connect", endpoint, "--grace", "1"], log: "worker-cut.log", namespace: network.hosts[1])
            #expect(cluster.waitForJournal(seconds: 15) { $0.liveLeases >= 1 },
                    "the worker never got a unit:\n\(cluster.log("coordinator.log").suffix(1500))")
            #expect(network.setLink(host: 2, up: false))
            try cluster.start(["worker", "--connect", endpoint, "--grace", "1"], log: "worker-ok.log", namespace: network.hosts[2])
            usleep(4_000_000)  // twice the lease: the cut worker's lease expires and its unit moves on
            #expect(network.setLink(host: 2, up: true))
            #expect(cluster.wait(coordinator, seconds: 40), "coordinator did not finish:\n\(cluster.log("coordinator.log").suffix(2000))")
            try cluster.expectAllDoneOnce(units: 16)
            let outcomes = try cluster.journal().attempts().map(\.outcome)
            #expect(outcomes.contains("expired"), "no lease expired during the cut: \(Set(outcomes))")
        }
    }
}
