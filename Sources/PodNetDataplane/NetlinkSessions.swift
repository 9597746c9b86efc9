import PodNetNetlink
import PodNetSystem

/// Opens the netlink sessions that observation and execution speak through. What ships
/// opens sockets on the kernel and nothing else; a test (through `@testable import`) may
/// put a transport of its own around each socket, to answer as another kernel would
/// (one without nexthop objects), which no namespace of this kernel can.
struct NetlinkSessions: Sendable {
    var transport: (@Sendable (NetlinkSocket) -> any NetlinkTransport)?

    func open(in namespace: NetworkNamespace?) throws(NetlinkError) -> Netlink {
        let socket = try NetlinkSocket(namespace: namespace)
        return Netlink(transport: transport?(socket) ?? socket, namespace: namespace)
    }
}
