#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNet

extension Netlink {
    /// The destinations of `family` that are local to this namespace: the `local`
    /// routes of the kernel's local table (`ip route show table local type local`),
    /// the node's own addresses and 127.0.0.0/8 or ::1 among them. They are what
    /// `-m addrtype --dst-type LOCAL` matches, which is how host ports are entered.
    public func localNetworks(family: IPFamily) throws(NetlinkError) -> [IPNetwork] {
        let replies: [NetlinkMessage]
        do throws(NetlinkError) {
            replies = try dump(RouteMessages.dump(family: family, table: UInt32(RT_TABLE_LOCAL.rawValue), proto: nil))
        } catch .kernel(_, _, let reason) where reason.errno == ENOENT {
            return []
        }
        var networks: [IPNetwork] = []
        for reply in replies where reply.type == UInt16(RTM_NEWROUTE) && reply.payload.count >= MemoryLayout<rtmsg>.size {
            let header = reply.payload.withUnsafeBytes { $0.loadUnaligned(as: rtmsg.self) }
            guard header.rtm_type == UInt8(RTN_LOCAL), let route = try RouteMessages.parse(reply),
                  route.table == UInt32(RT_TABLE_LOCAL.rawValue), route.destination.family == family else { continue }
            networks.append(route.destination)
        }
        return networks
    }
}
