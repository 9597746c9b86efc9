import Foundation
import Testing
import PodNet
import PodNetSystem
import PodNetTestSupport
@testable import PodNetNetlink

@Suite struct SysctlKernelTests {
    static let keys: [SysctlKey] = [
        .ipv4Forwarding, .ipv6Forwarding, .bridgeCallsIptables, .bridgeCallsIp6tables,
        .routeLocalnet(interface: "up0"),
    ]

    /// The namespace the calling thread is in, as the kernel names it.
    static func threadNamespace() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net")
    }

    @Test(.enabled(if: KernelTest.enabled), arguments: keys)
    func writesAndReadsInTheTargetNamespaceOnly(key: SysctlKey) throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        // The root namespace has no up0: its route_localnet must stay absent.
        let rootBefore = try? runCommand(["sysctl", "-n", key.description])
        let threadBefore = try Self.threadNamespace()
        let sysctls = Sysctls(namespace: ns.namespace)
        for value in ["1", "0"] {
            // New namespaces copy some values: start from the opposite one.
            try ns.run(["sysctl", "-q", "-w", "\(key)=\(value == "1" ? "0" : "1")"])
            #expect(try sysctls.value(of: key) == (value == "1" ? "0" : "1"))
            try sysctls.set(SysctlSetting(key, value))
            #expect(try ns.run(["sysctl", "-n", key.description]) == value + "\n")
            #expect(try sysctls.value(of: key) == value)
        }
        #expect((try? runCommand(["sysctl", "-n", key.description])) == rootBefore)
        #expect(try Self.threadNamespace() == threadBefore)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func warnsWhenIPv6ForwardingWouldDropAnRALearnedDefaultRoute() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        try ns.run(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=0"])
        try ns.run(["sysctl", "-q", "-w", "net.ipv6.conf.up0.accept_ra=1"])
        try ns.run(["sysctl", "-q", "-w", "net.ipv6.conf.up1.accept_ra=1"])
        // What the kernel installs from a router advertisement: a default route of protocol ra.
        try runCommand(["ip", "-n", ns.name, "-6", "route", "add", "default", "via", "fe80::1", "dev", "up0", "proto", "ra"])
        let netlink = try Netlink(namespace: ns.namespace)
        let sysctls = Sysctls(namespace: ns.namespace)

        let warnings = try sysctls.ipv6ForwardingWarnings(using: netlink)
        #expect(warnings == [RouterAdvertisementWarning(interface: "up0")])
        #expect(warnings.first?.description.contains("accept_ra=2") == true)

        try ns.run(["sysctl", "-q", "-w", "net.ipv6.conf.up0.accept_ra=2"])
        #expect(try sysctls.ipv6ForwardingWarnings(using: netlink).isEmpty)

        try ns.run(["sysctl", "-q", "-w", "net.ipv6.conf.up0.accept_ra=1"])
        try sysctls.set(SysctlSetting(.ipv6Forwarding, "1"))
        #expect(try sysctls.ipv6ForwardingWarnings(using: netlink).isEmpty)
    }

    @Test func aMissingBridgeDirectoryNamesBrNetfilter() {
        let missing = SysctlError.unopenable("net/bridge/bridge-nf-call-iptables", errno: ENOENT,
                                             bridgeDirectoryExists: false, writing: "1")
        #expect(missing == .bridgeNetfilterMissing(path: "/proc/sys/net/bridge/bridge-nf-call-iptables"))
        #expect(missing.description.contains("modprobe br_netfilter"))
        let other = SysctlError.unopenable("net/ipv4/conf/cbr0/route_localnet", errno: ENOENT,
                                           bridgeDirectoryExists: false, writing: nil)
        #expect(other == .read(path: "/proc/sys/net/ipv4/conf/cbr0/route_localnet", errno: ENOENT))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func aMissingInterfaceIsAnErrorNamingThePath() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        #expect(throws: SysctlError.write(path: "/proc/sys/net/ipv4/conf/nosuch/route_localnet", value: "1", errno: ENOENT)) {
            try Sysctls(namespace: ns.namespace).set(SysctlSetting(.routeLocalnet(interface: "nosuch"), "1"))
        }
    }

    /// Netlink sessions in other namespaces leave the calling thread where it was.
    @Test(.enabled(if: KernelTest.enabled))
    func netlinkInAnotherNamespaceLeavesTheThreadInItsOwn() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        let before = try Self.threadNamespace()
        let netlink = try Netlink(namespace: ns.namespace)
        #expect(try Self.threadNamespace() == before)
        // The socket acts in the target namespace: it sees up0, which the root namespace lacks.
        #expect(try netlink.link(named: "up0") != nil)
        #expect(try Netlink().link(named: "up0") == nil)
    }
}
