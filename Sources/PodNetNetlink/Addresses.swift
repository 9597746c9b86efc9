#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNet

/// An address as the kernel reports it (`ip addr show`).
public struct ObservedAddress: Sendable, Hashable {
    public var interfaceIndex: Int32
    public var address: IPAddress
    public var prefixLength: Int
    /// Link scope: the kernel's own IPv6 link-local address, not a pod-CIDR one.
    public var isLinkLocal: Bool
    /// Added with IFA_F_NODAD: usable at once, never "tentative".
    public var skipsDuplicateDetection: Bool
}

/// The address messages, as pure functions of their values.
enum AddressMessages {
    private static func header(family: IPFamily, prefixLength: Int = 0, flags: UInt8 = 0,
                               index: Int32) -> ifaddrmsg {
        var header = ifaddrmsg()
        header.ifa_family = family.addressFamily
        header.ifa_prefixlen = UInt8(prefixLength)
        header.ifa_flags = flags
        header.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
        header.ifa_index = UInt32(bitPattern: index)
        return header
    }

    /// `ip addr add ADDRESS/PREFIX dev INDEX [nodad]`: IFA_LOCAL and IFA_ADDRESS
    /// both carry the address (no peer).
    static func add(_ address: IPAddress, prefixLength: Int, index: Int32, skipDuplicateDetection: Bool) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_NEWADDR), flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL) { writer in
            writer.putHeader(header(family: address.family, prefixLength: prefixLength,
                                    flags: skipDuplicateDetection ? UInt8(IFA_F_NODAD) : 0, index: index))
            writer.put(Int32(IFA_LOCAL), address: address)
            writer.put(Int32(IFA_ADDRESS), address: address)
        }
    }

    /// `ip addr del ADDRESS/PREFIX dev INDEX`.
    static func delete(_ address: IPAddress, prefixLength: Int, index: Int32) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_DELADDR), flags: NLM_F_ACK) { writer in
            writer.putHeader(header(family: address.family, prefixLength: prefixLength, index: index))
            writer.put(Int32(IFA_LOCAL), address: address)
            writer.put(Int32(IFA_ADDRESS), address: address)
        }
    }

    /// `ip -FAMILY addr show dev INDEX`: strict checking filters on ifa_index.
    static func dump(family: IPFamily, index: Int32) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_GETADDR), flags: NLM_F_DUMP) { writer in
            writer.putHeader(header(family: family, index: index))
        }
    }

    static func parse(_ message: NetlinkMessage) throws(NetlinkError) -> ObservedAddress? {
        guard message.type == UInt16(RTM_NEWADDR) else { return nil }
        let size = MemoryLayout<ifaddrmsg>.size
        guard message.payload.count >= size else { throw .malformed("RTM_NEWADDR shorter than ifaddrmsg") }
        let header = message.payload.withUnsafeBytes { $0.loadUnaligned(as: ifaddrmsg.self) }
        guard let family = IPFamily(addressFamily: header.ifa_family) else { return nil }
        let attributes = try NetlinkAttributes(message.payload.dropFirst(size))
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS alone on IPv6.
        guard let address = attributes.address(UInt16(IFA_LOCAL), family: family)
                ?? attributes.address(UInt16(IFA_ADDRESS), family: family) else {
            throw .malformed("address message without IFA_LOCAL or IFA_ADDRESS")
        }
        // IFA_FLAGS (u32) supersedes the 8-bit ifa_flags when present.
        let flags = attributes.u32(UInt16(IFA_FLAGS)) ?? UInt32(header.ifa_flags)
        return ObservedAddress(interfaceIndex: Int32(bitPattern: header.ifa_index), address: address,
                               prefixLength: Int(header.ifa_prefixlen),
                               isLinkLocal: header.ifa_scope == UInt8(RT_SCOPE_LINK.rawValue),
                               skipsDuplicateDetection: flags & UInt32(IFA_F_NODAD) != 0)
    }
}

extension Netlink {
    /// `ip addr show dev NAME` (both families, or one).
    public func addresses(of link: Link, family: IPFamily? = nil) throws(NetlinkError) -> [ObservedAddress] {
        var found: [ObservedAddress] = []
        for family in family.map({ [$0] }) ?? IPFamily.allCases {
            for message in try dump(AddressMessages.dump(family: family, index: link.index)) {
                // Filter here too: the kernel's index filter is a request, and a kernel
                // without the family (IPv6 disabled) answers with every family it has.
                if let address = try AddressMessages.parse(message), address.interfaceIndex == link.index,
                   address.address.family == family {
                    found.append(address)
                }
            }
        }
        return found
    }

    /// `ip addr add ADDRESS/PREFIX dev NAME [nodad]`.
    public func addAddress(_ address: IPAddress, prefixLength: Int, to link: Link,
                           skipDuplicateDetection: Bool = false) throws(NetlinkOperationError) {
        try attempt("ip addr add \(address)/\(prefixLength) dev \(link.name)\(skipDuplicateDetection ? " nodad" : "")") {
            () throws(NetlinkError) in
            try perform(AddressMessages.add(address, prefixLength: prefixLength, index: link.index,
                                            skipDuplicateDetection: skipDuplicateDetection))
        }
    }

    /// `ip addr del ADDRESS/PREFIX dev NAME`.
    public func deleteAddress(_ address: IPAddress, prefixLength: Int, from link: Link) throws(NetlinkOperationError) {
        try attempt("ip addr del \(address)/\(prefixLength) dev \(link.name)") { () throws(NetlinkError) in
            try perform(AddressMessages.delete(address, prefixLength: prefixLength, index: link.index))
        }
    }
}
