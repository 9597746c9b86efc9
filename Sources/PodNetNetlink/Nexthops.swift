#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNet

/// A nexthop object as the kernel holds it, whoever made it.
struct KernelNexthop: Sendable, Hashable {
    var id: UInt32
    var proto: UInt8
    /// Nil for a group, a blackhole or an fdb nexthop.
    var gateway: IPAddress?
    var outputInterfaceIndex: Int32?
}

/// What the nexthop dump found: every nexthop, or that the kernel has none to give.
struct NexthopDump: Sendable, Hashable {
    var supported: Bool
    var nexthops: [KernelNexthop]
}

/// What a nexthop batch did, as `RouteBatchResult` for routes: `applied` is what a
/// rollback has to undo.
public struct NexthopBatchResult: Sendable, Hashable {
    public var applied: [NexthopOperation] = []
    public var failed: [RefusedNexthop] = []
    public var reread = false
}

/// The nexthop messages, as pure functions of their values.
enum NexthopMessages {
    /// `ip nexthop add|replace id N via G dev D proto P`: nhmsg { family, scope 0,
    /// protocol }, NHA_ID, NHA_GATEWAY, NHA_OIF (in iproute2's order); `ip nexthop del id N`:
    /// RTM_DELNEXTHOP with an empty nhmsg and NHA_ID.
    static func write(_ operation: NexthopOperation) -> NetlinkMessage {
        switch operation {
        case .add(let nexthop): return new(nexthop, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        case .replace(_, let nexthop): return new(nexthop, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
        case .delete(let nexthop): return delete(id: nexthop.id)
        }
    }

    private static func new(_ nexthop: NexthopState, flags: Int32) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_NEWNEXTHOP), flags: flags) { writer in
            var header = nhmsg()
            header.nh_family = nexthop.family.addressFamily
            header.nh_protocol = nexthop.proto
            writer.putHeader(header)
            writer.put(Int32(NHA_ID), u32: nexthop.id)
            writer.put(Int32(NHA_GATEWAY), address: nexthop.gateway)
            writer.put(Int32(NHA_OIF), u32: UInt32(bitPattern: nexthop.link.index))
        }
    }

    static func delete(id: UInt32) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_DELNEXTHOP), flags: NLM_F_ACK) { writer in
            writer.putHeader(nhmsg())
            writer.put(Int32(NHA_ID), u32: id)
        }
    }

    /// `ip nexthop show`: every nexthop of every family and protocol (the foreign ones'
    /// ids are what podnet must not take).
    static func dump() -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_GETNEXTHOP), flags: NLM_F_DUMP) { writer in
            writer.putHeader(nhmsg())
        }
    }

    /// `ip nexthop get id N`: one nexthop, whoever made it.
    static func get(id: UInt32) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_GETNEXTHOP), flags: 0) { writer in
            writer.putHeader(nhmsg())
            writer.put(Int32(NHA_ID), u32: id)
        }
    }

    static func parse(_ message: NetlinkMessage) throws(NetlinkError) -> KernelNexthop? {
        guard message.type == UInt16(RTM_NEWNEXTHOP) else { return nil }
        let size = MemoryLayout<nhmsg>.size
        guard message.payload.count >= size else { throw .malformed("RTM_NEWNEXTHOP shorter than nhmsg") }
        let header = message.payload.withUnsafeBytes { $0.loadUnaligned(as: nhmsg.self) }
        // One walk of the attributes (a dump of 50,000 nexthops), a repeated one giving its last value.
        let family = IPFamily(addressFamily: header.nh_family)
        var id: UInt32?, gateway: IPAddress?, outputInterfaceIndex: UInt32?
        try NetlinkAttributes.forEach(in: message.payload.dropFirst(size)) { type, payload in
            switch type {
            case UInt16(NHA_ID): id = NetlinkAttributes.u32(payload)
            case UInt16(NHA_GATEWAY): gateway = family.flatMap { NetlinkAttributes.address(payload, family: $0) }
            case UInt16(NHA_OIF): outputInterfaceIndex = NetlinkAttributes.u32(payload)
            default: break
            }
        }
        guard let id else { throw .malformed("RTM_NEWNEXTHOP without NHA_ID") }
        return KernelNexthop(id: id, proto: header.nh_protocol, gateway: gateway,
                             outputInterfaceIndex: outputInterfaceIndex.map { Int32(bitPattern: $0) })
    }
}

extension Netlink {
    /// `ip nexthop show`. A kernel without nexthop objects (before 5.3) does not know the
    /// message and answers EOPNOTSUPP (EINVAL on some older ones): that is the run-time
    /// probe that sends podnet's routes the classic way.
    func nexthopDump() throws(NetlinkError) -> NexthopDump {
        let replies: [NetlinkMessage]
        do throws(NetlinkError) {
            replies = try dump(NexthopMessages.dump())
        } catch .kernel(_, _, let reason) where reason.errno == EOPNOTSUPP || reason.errno == EINVAL {
            return NexthopDump(supported: false, nexthops: [])
        }
        var nexthops: [KernelNexthop] = []
        nexthops.reserveCapacity(replies.count)
        for reply in replies {
            if let nexthop = try NexthopMessages.parse(reply) { nexthops.append(nexthop) }
        }
        return NexthopDump(supported: true, nexthops: nexthops)
    }

    /// `ip nexthop get id N` for each of `ids`: what the dump would have found of them
    /// (an id no nexthop holds is left out; ENOENT). For one peer's few nexthops, where
    /// the dump reads every peer's.
    func nexthops(ids: [UInt32]) throws(NetlinkError) -> NexthopDump {
        var found: [KernelNexthop] = []
        for id in ids {
            do throws(NetlinkError) {
                if let nexthop = try NexthopMessages.parse(try fetch(NexthopMessages.get(id: id))) { found.append(nexthop) }
            } catch .kernel(_, _, let reason) where reason.errno == ENOENT {
                continue
            } catch .kernel(_, _, let reason) where reason.errno == EOPNOTSUPP || reason.errno == EINVAL {
                return NexthopDump(supported: false, nexthops: [])
            }
        }
        return NexthopDump(supported: true, nexthops: found)
    }

    /// podnet's nexthops among `ids` (protocol `proto`, a single gateway on a link; `names`
    /// are the links by index) and those of the ids others hold, as `observeRoutes` sorts
    /// the dump; `supported` false when the kernel has no nexthop objects.
    public func observeNexthops(ids: [UInt32], proto: UInt8, names: [Int32: String]) throws(NetlinkError)
        -> (owned: [NexthopState], foreignIDs: [UInt32], supported: Bool) {
        let found = try nexthops(ids: ids)
        let sorted = Self.ownedNexthops(found, proto: proto, names: names)
        return (sorted.owned, sorted.foreignIDs, found.supported)
    }

    /// The ids of every nexthop not of podnet's (protocol `proto`, a single gateway on a
    /// link), from one dump; `supported` false when the kernel has no nexthop objects.
    public func foreignNexthopIDs(proto: UInt8) throws(NetlinkError) -> (ids: [UInt32], supported: Bool) {
        let dump = try nexthopDump()
        return (Self.ownedNexthops(dump, proto: proto, names: [:]).foreignIDs, dump.supported)
    }

    /// podnet's nexthops (protocol `proto`, a single gateway on a link) as the kernel
    /// holds them (`names` are the links by index), and the ids of every other nexthop,
    /// in the same pass.
    static func ownedNexthops(_ dump: NexthopDump, proto: UInt8, names: [Int32: String])
        -> (owned: [NexthopState], foreignIDs: [UInt32]) {
        var owned: [NexthopState] = [], foreignIDs: [UInt32] = []
        owned.reserveCapacity(dump.nexthops.count)
        for nexthop in dump.nexthops {
            guard nexthop.proto == proto, let gateway = nexthop.gateway, let index = nexthop.outputInterfaceIndex else {
                foreignIDs.append(nexthop.id)
                continue
            }
            owned.append(NexthopState(id: nexthop.id, gateway: gateway,
                                      link: LinkReference(index: index, name: names[index] ?? "if\(index)"), proto: proto))
        }
        return (owned, foreignIDs)
    }

    /// One batch of nexthop writes (`ip nexthop add|replace|del ...`), each standing
    /// alone: a refused one is named with the kernel's reason and the others stay.
    /// Acknowledgements lost (ENOBUFS) are settled by reading the nexthops again.
    public func writeNexthops(_ operations: [NexthopOperation]) throws(NetlinkError) -> NexthopBatchResult {
        var result = NexthopBatchResult()
        guard !operations.isEmpty else { return result }
        let acknowledgements = try batch(operations.map(NexthopMessages.write))
        var unsettled: [NexthopOperation] = []
        for (operation, acknowledgement) in zip(operations, acknowledgements) {
            switch acknowledgement {
            case .applied: result.applied.append(operation)
            case .refused(let reason): result.failed.append(RefusedNexthop(operation: operation, reason: .kernel(reason)))
            case .lost: unsettled.append(operation)
            }
        }
        guard !unsettled.isEmpty else { return result }
        result.reread = true
        var present: [UInt32: KernelNexthop] = [:]
        for nexthop in try nexthopDump().nexthops { present[nexthop.id] = nexthop }
        for operation in unsettled {
            let wanted = operation.nexthop
            let found = present[wanted.id]
            let done: Bool = switch operation {
            case .add, .replace:
                found?.gateway == wanted.gateway && found?.outputInterfaceIndex == wanted.link.index
                    && found?.proto == wanted.proto
            case .delete: found == nil
            }
            if done {
                result.applied.append(operation)
            } else {
                result.failed.append(RefusedNexthop(operation: operation, reason: .notConfirmed))
            }
        }
        return result
    }
}
