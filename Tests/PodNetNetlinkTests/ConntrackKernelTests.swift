#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
import PodNet
import PodNetSystem
import PodNetTestSupport
@testable import PodNetNetlink

/// Real UDP flows from a client namespace into a node namespace, deleted as
/// `conntrack -D -p udp --dport N` would, with `conntrack -L` as the oracle.
@Suite struct ConntrackKernelTests {
    /// A node namespace (10.0.0.1, fd00::1) and a client (10.0.0.2, fd00::2) on a
    /// veth pair. The node tracks connections (an nftables `ct` rule turns
    /// conntrack on in a namespace), keeps unreplied UDP flows for an hour, and
    /// answers every datagram to a closed port with an unrate-limited ICMP error.
    static func nodeAndClient() throws -> (node: TestNamespace, client: TestNamespace) {
        let node = try TestNamespace(prefix: "pnct"), client = try TestNamespace(prefix: "pnct")
        do {
            try runCommand(["ip", "-n", node.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
                            "netns", client.name])
            for (ns, host) in [(node, 1), (client, 2)] {
                try runCommand(["ip", "-n", ns.name, "addr", "add", "10.0.0.\(host)/24", "dev", "eth0"])
                try runCommand(["ip", "-n", ns.name, "addr", "add", "fd00::\(host)/64", "dev", "eth0", "nodad"])
                try runCommand(["ip", "-n", ns.name, "link", "set", "eth0", "up"])
            }
            try node.run(["nft", "-f", "-"], stdin: """
                table inet conntrack_on {
                    chain prerouting { type filter hook prerouting priority 0; ct state new counter; }
                }
                """)
            try node.run(["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_udp_timeout=3600",
                          "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"])
        } catch {
            node.delete()
            client.delete()
            throw error
        }
        return (node, client)
    }

    struct SocketFailure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// Sends one datagram from the client's `sourcePort` to `destination`:`port`
    /// and waits for the node's port-unreachable error (ECONNREFUSED on the
    /// connected socket): once it has arrived, the node has tracked the flow (the
    /// error is sent after conntrack confirmed it). Gives up after 10 s.
    static func sendUDP(from client: TestNamespace, sourcePort: UInt16, to destination: String, port: UInt16) throws {
        let address = try #require(IPAddress(destination))
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = try NetworkNamespace.run(in: client.namespace) { socket(domain, Int32(SOCK_DGRAM.rawValue), 0) }
        guard fd >= 0 else { throw SocketFailure(call: "socket", code: errno) }
        defer { close(fd) }
        func check(_ call: String, _ result: Int) throws {
            if result < 0 { throw SocketFailure(call: call, code: errno) }
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        try check("setsockopt(SO_RCVTIMEO)", Int(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout,
                                                            socklen_t(MemoryLayout<timeval>.size))))
        try withSocketAddress(IPAddress.zero(address.family), port: sourcePort) { pointer, length in
            try check("bind", Int(bind(fd, pointer, length)))
        }
        try withSocketAddress(address, port: port) { pointer, length in
            try check("connect", Int(connect(fd, pointer, length)))
        }
        try check("send", send(fd, "x", 1, 0))
        var byte: UInt8 = 0
        let received = recv(fd, &byte, 1, 0)
        guard received < 0, errno == ECONNREFUSED else {
            throw SocketFailure(call: "recv (expected the node's port-unreachable)", code: received < 0 ? errno : 0)
        }
    }

    static func withSocketAddress(_ address: IPAddress, port: UInt16,
                                  _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Void) throws {
        if address.family == .ipv4 {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &socketAddress.sin_addr) { $0.copyBytes(from: address.bytes) }
            try withUnsafePointer(to: &socketAddress) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } else {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: address.bytes) }
            try withUnsafePointer(to: &socketAddress) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// `conntrack -L -o extended` of both families in `ns`, each flow as
    /// "ipv4 udp 10.0.0.2:40001 > 10.0.0.1:5353" (its original direction).
    static func trackedFlows(_ ns: TestNamespace) throws -> Set<String> {
        var flows: Set<String> = []
        for family in ["ipv4", "ipv6"] {
            for line in try ns.run(["conntrack", "-L", "-f", family, "-o", "extended"]).split(separator: "\n") {
                let words = line.split(separator: " ")
                func first(_ key: String) -> String {
                    words.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) } ?? "?"
                }
                flows.insert("\(words[0]) \(words[2]) \(first("src")):\(first("sport")) > \(first("dst")):\(first("dport"))")
            }
        }
        return flows
    }

    @Test(.enabled(if: KernelTest.enabled))
    func deletesTheUDPFlowsToOnePortOfOneFamilyAndNothingElse() throws {
        let (node, client) = try Self.nodeAndClient()
        defer { client.delete(); node.delete() }
        try Self.sendUDP(from: client, sourcePort: 40001, to: "10.0.0.1", port: 5353)
        try Self.sendUDP(from: client, sourcePort: 40002, to: "10.0.0.1", port: 5353)
        try Self.sendUDP(from: client, sourcePort: 40003, to: "10.0.0.1", port: 5354)
        try Self.sendUDP(from: client, sourcePort: 40004, to: "fd00::1", port: 5353)
        try Self.sendUDP(from: client, sourcePort: 40006, to: "fd00::1", port: 5354)
        // A TCP flow to the same port number must stay.
        try node.run(["conntrack", "-I", "-p", "tcp", "-s", "10.0.0.2", "-d", "10.0.0.1", "--sport", "40005",
                      "--dport", "5353", "--state", "ESTABLISHED", "--timeout", "3600"])
        let udp4 = ["ipv4 udp 10.0.0.2:40001 > 10.0.0.1:5353", "ipv4 udp 10.0.0.2:40002 > 10.0.0.1:5353"]
        let udp6 = ["ipv6 udp fd00::2:40004 > fd00::1:5353"]
        let others = ["ipv4 udp 10.0.0.2:40003 > 10.0.0.1:5354", "ipv6 udp fd00::2:40006 > fd00::1:5354",
                      "ipv4 tcp 10.0.0.2:40005 > 10.0.0.1:5353"]
        #expect(try Self.trackedFlows(node) == Set(udp4 + udp6 + others))

        let conntrack = try Conntrack(namespace: node.namespace)
        let v4 = [try IPNetwork(parsing: "10.0.0.0/24")], v6 = [try IPNetwork(parsing: "fd00::/64")]
        #expect(try conntrack.deleteFlows(family: .ipv4, transport: .udp, destinationPort: 5353, to: v4) == 2)
        #expect(try Self.trackedFlows(node) == Set(udp6 + others))

        #expect(try conntrack.deleteFlows(family: .ipv6, transport: .udp, destinationPort: 5353, to: v6) == 1)
        #expect(try Self.trackedFlows(node) == Set(others))

        // Nothing left to delete: a second run is harmless.
        #expect(try conntrack.deleteFlows(family: .ipv4, transport: .udp, destinationPort: 5353, to: v4) == 0)
        #expect(try Self.trackedFlows(node) == Set(others))
        // The client namespace tracks nothing: the flows were the node's.
        #expect(try Self.trackedFlows(client) == [])
    }

    /// A host port 53 must not cut the node's own DNS: its flows to port 53 of other
    /// hosts never meet the DNAT. Only flows to the node's local addresses (as
    /// `localNetworks` finds them), or to one host IP, are deleted.
    @Test(.enabled(if: KernelTest.enabled))
    func deletesOnlyTheFlowsToTheGivenDestinations() throws {
        let (node, client) = try Self.nodeAndClient()
        defer { client.delete(); node.delete() }
        try node.run(["ip", "addr", "add", "10.0.1.1/24", "dev", "eth0"])
        try Self.sendUDP(from: client, sourcePort: 40001, to: "10.0.0.1", port: 5353)
        try Self.sendUDP(from: client, sourcePort: 40002, to: "fd00::1", port: 5353)
        // The node's own queries to a resolver elsewhere, and a flow to its second address.
        for (source, destination, port) in [("10.0.0.1", "10.0.0.2", "40011"), ("10.0.0.1", "192.0.2.53", "40012"),
                                            ("fd00::1", "fd00::2", "40013"), ("10.0.0.2", "10.0.1.1", "40014")] {
            try node.run(["conntrack", "-I", "-p", "udp", "-s", source, "-d", destination, "--sport", port,
                          "--dport", "5353", "--timeout", "3600"])
        }
        let remote = ["ipv4 udp 10.0.0.1:40011 > 10.0.0.2:5353", "ipv4 udp 10.0.0.1:40012 > 192.0.2.53:5353",
                      "ipv6 udp fd00::1:40013 > fd00::2:5353"]
        let local = ["ipv4 udp 10.0.0.2:40001 > 10.0.0.1:5353", "ipv6 udp fd00::2:40002 > fd00::1:5353"]
        let secondAddress = "ipv4 udp 10.0.0.2:40014 > 10.0.1.1:5353"
        #expect(try Self.trackedFlows(node) == Set(remote + local + [secondAddress]))

        let netlink = try Netlink(namespace: node.namespace)
        let conntrack = try Conntrack(namespace: node.namespace)
        // One host IP: only the flow to it goes.
        #expect(try conntrack.deleteFlows(family: .ipv4, transport: .udp, destinationPort: 5353,
                                          to: [IPNetwork(host: IPAddress("10.0.1.1")!)]) == 1)
        #expect(try Self.trackedFlows(node) == Set(remote + local))

        let local4 = try netlink.localNetworks(family: .ipv4), local6 = try netlink.localNetworks(family: .ipv6)
        #expect(local4.contains(IPNetwork(host: IPAddress("10.0.0.1")!)))
        #expect(local4.contains(try IPNetwork(parsing: "127.0.0.0/8")))
        #expect(!local4.contains { $0.contains(IPAddress("10.0.0.2")!) })
        #expect(local6.contains(IPNetwork(host: IPAddress("fd00::1")!)))
        #expect(try conntrack.deleteFlows(family: .ipv4, transport: .udp, destinationPort: 5353, to: local4) == 1)
        #expect(try conntrack.deleteFlows(family: .ipv6, transport: .udp, destinationPort: 5353, to: local6) == 1)
        #expect(try Self.trackedFlows(node) == Set(remote), "the node's flows to other hosts stay")
    }

    /// More ports than per-port dumps are worth: one dump of the family's UDP flows,
    /// matched here, deletes the flows to exactly those ports and destinations.
    @Test(.enabled(if: KernelTest.enabled))
    func deletesTheFlowsOfManyPortsInOneDump() throws {
        let (node, client) = try Self.nodeAndClient()
        defer { client.delete(); node.delete() }
        let ports = (0..<UInt16(Conntrack.perPortDumpLimit + 2)).map { 6000 + $0 }
        func insert(_ proto: String, to destination: String, sourcePort: UInt16, port: UInt16) throws {
            try node.run(["conntrack", "-I", "-p", proto, "-s", "10.0.0.2", "-d", destination,
                          "--sport", String(sourcePort), "--dport", String(port), "--timeout", "3600"]
                         + (proto == "tcp" ? ["--state", "ESTABLISHED"] : []))
        }
        for port in ports { try insert("udp", to: "10.0.0.1", sourcePort: 40000, port: port) }
        try insert("udp", to: "10.0.0.1", sourcePort: 40000, port: 7000)
        try insert("udp", to: "10.0.9.9", sourcePort: 40000, port: ports[0])
        try insert("tcp", to: "10.0.0.1", sourcePort: 40000, port: ports[1])
        try Self.sendUDP(from: client, sourcePort: 40001, to: "fd00::1", port: ports[2])
        let others: Set<String> = ["ipv4 udp 10.0.0.2:40000 > 10.0.0.1:7000", "ipv4 udp 10.0.0.2:40000 > 10.0.9.9:6000",
                                   "ipv4 tcp 10.0.0.2:40000 > 10.0.0.1:6001", "ipv6 udp fd00::2:40001 > fd00::1:6002"]
        let doomed = Set(ports.map { "ipv4 udp 10.0.0.2:40000 > 10.0.0.1:\($0)" })
        #expect(try Self.trackedFlows(node) == doomed.union(others))

        let conntrack = try Conntrack(namespace: node.namespace)
        let local = [IPNetwork(host: IPAddress("10.0.0.1")!)]
        let selections = ports.map { FlowSelection(destinationPort: $0, destinations: local) }
        #expect(try conntrack.deleteFlows(family: .ipv4, transport: .udp, selections) == ports.count)
        #expect(try Self.trackedFlows(node) == others)
    }
}
