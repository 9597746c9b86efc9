import PodNetNetlink
import PodNetSystem

/// Opens the netlink sessions that observation and execution speak through. What ships
/// opens sockets on the kernel and nothing else; a test (through `@testable import`) may
/// put a transport of its own around each socket, to answer as another kernel would
/// (one without nexthop objects, or one that refuses a given write), which no namespace
/// of this kernel can.
struct NetlinkSessions: Sendable {
    var transport: (@Sendable (NetlinkSocket) -> any NetlinkTransport)?

    func open(in namespace: NetworkNamespace?) throws(NetlinkError) -> Netlink {
        let socket = try NetlinkSocket(namespace: namespace)
        return Netlink(transport: transport?(socket) ?? socket, namespace: namespace)
    }

    /// The namespace's ipsets, over a NETLINK_NETFILTER socket of their own.
    func openIPSets(in namespace: NetworkNamespace?) throws(NetlinkError) -> IPSets {
        let socket = try IPSets.socket(in: namespace)
        return IPSets(session: Netlink(transport: transport?(socket) ?? socket, namespace: namespace))
    }
}
