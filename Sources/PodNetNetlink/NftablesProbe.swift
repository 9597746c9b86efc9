import CMNL
import PodNetSystem

/// Whether a network namespace holds nftables tables. Debian's default
/// `iptables` is iptables-nft: its rules live in nftables tables, act on the same
/// packets as podnet's, and are invisible to libiptc, so podnet warns about them.
///
/// Not thread-safe and not Sendable, like `Netlink`.
public final class NftablesProbe {
    let session: Netlink
    /// The namespace the socket lives in (nil: the creator's).
    public var namespace: NetworkNamespace? { session.namespace }

    /// Over `session`, a NETLINK_NETFILTER session (tests give it a scripted transport).
    public init(session: Netlink) {
        self.session = session
    }

    /// Probes `namespace` through a new NETLINK_NETFILTER socket opened there.
    public convenience init(namespace: NetworkNamespace? = nil) throws(NetlinkError) {
        self.init(session: try Netlink(namespace: namespace, protocol: NETLINK_NETFILTER))
    }

    /// `nft list tables`: every table of every family, family-qualified as nft
    /// prints them ("ip filter", "inet foo"), in the kernel's order.
    public func tableNames() throws(NetlinkOperationError) -> [String] {
        try session.attempt("nft list tables") { () throws(NetlinkError) in
            var names: [String] = []
            for message in try session.dump(NftablesMessages.dumpTables()) {
                if let name = try NftablesMessages.parseTable(message) { names.append(name) }
            }
            return names
        }
    }
}

/// The nf_tables messages, as pure functions of their values.
enum NftablesMessages {
    /// NFT_MSG_GETTABLE with NLM_F_DUMP for family NFPROTO_UNSPEC: all families.
    static func dumpTables() -> NetlinkMessage {
        Nfnetlink.message(.nftables, NFT_MSG_GETTABLE.rawValue, flags: NLM_F_DUMP, family: 0)
    }

    /// "FAMILY NAME" of a dumped table (NFT_MSG_NEWTABLE); nil for another message.
    static func parseTable(_ message: NetlinkMessage) throws(NetlinkError) -> String? {
        guard let (family, attributes) = try Nfnetlink.body(of: message, .nftables, NFT_MSG_NEWTABLE.rawValue) else {
            return nil
        }
        guard let name = attributes.string(UInt16(NFTA_TABLE_NAME.rawValue)) else {
            throw .malformed("nftables table without NFTA_TABLE_NAME")
        }
        return "\(familyName(family)) \(name)"
    }

    /// nft's name of an NFPROTO_* family (linux/netfilter.h, whose in.h clashes
    /// with glibc's in a Clang module, so the numbers are spelled out here).
    static func familyName(_ family: UInt8) -> String {
        switch family {
        case 1: "inet"
        case 2: "ip"
        case 3: "arp"
        case 5: "netdev"
        case 7: "bridge"
        case 10: "ip6"
        default: "family-\(family)"
        }
    }
}
