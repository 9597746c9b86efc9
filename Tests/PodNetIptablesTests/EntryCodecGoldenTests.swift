import PodNet
import Testing
@testable import PodNetIptables

/// The kernel's entries (KernelDumps) decode to the expected rules, render as
/// iptables-legacy-save printed them, and the expected rules encode to the same bytes
/// in the form libiptc takes from its callers.
@Suite struct EntryCodecGoldenTests {
    struct Golden: CustomTestStringConvertible, Sendable {
        let name: String
        let family: IPFamily
        let kernel: [UInt8]
        /// What iptc_get_target says for the entry.
        let targetName: String
        let rule: Rule
        /// The rule as iptables-legacy-save printed it (without `-A CHAIN`).
        let saveText: String
        var testDescription: String { name }
    }

    static let cases: [Golden] = [
        Golden(name: "conntrack", family: .ipv4, kernel: KernelDumps.conntrackAccept, targetName: "ACCEPT",
               rule: Rule(matches: [.conntrack(ConntrackMatch(
                   states: [.invalid, .new, .related, .established, .untracked, .snat, .dnat], negated: true))],
                          target: .accept),
               saveText: "-m conntrack ! --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT -j ACCEPT"),
        Golden(name: "sctp", family: .ipv4, kernel: KernelDumps.sctpPorts, targetName: "",
               rule: Rule(proto: ProtocolMatch(.sctp), matches: [.sctp(PortMatch(
                   sourcePorts: PortRange(first: 80, last: 90), sourceNegated: true,
                   destinationPorts: PortRange(7), destinationNegated: true))], target: .fallThrough),
               saveText: "-p sctp -m sctp ! --sport 80:90 ! --dport 7"),
        Golden(name: "multiport", family: .ipv4, kernel: KernelDumps.multiportSources, targetName: "",
               rule: Rule(proto: ProtocolMatch(.udp), matches: [.multiport(MultiportMatch(
                   direction: .source, ports: (1...15).map { PortRange(UInt16($0)) }))], target: .fallThrough),
               saveText: "-p udp -m multiport --sports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"),
        Golden(name: "interfaces", family: .ipv4, kernel: KernelDumps.interfacePlus, targetName: "",
               rule: Rule(inInterface: InterfaceMatch("eth0"), outInterface: InterfaceMatch("+"),
                          proto: ProtocolMatch(IPProtocol(number: 47)), target: .fallThrough),
               saveText: "-i eth0 -p gre"),
        Golden(name: "addrtype", family: .ipv4, kernel: KernelDumps.addrtype, targetName: "",
               rule: Rule(matches: [.addressType(.destination([.unspec, .blackhole, .xresolve]))],
                          target: .fallThrough),
               saveText: "-m addrtype --dst-type UNSPEC,BLACKHOLE,XRESOLVE"),
        Golden(name: "snat4", family: .ipv4, kernel: KernelDumps.snat4, targetName: "SNAT",
               rule: Rule(proto: ProtocolMatch(.tcp), target: .snat(NATTarget(
                   minAddress: IPAddress("10.0.0.1"), maxAddress: IPAddress("10.0.0.1"),
                   ports: PortRange(first: 1000, last: 2000), random: true, persistent: true))),
               saveText: "-p tcp -j SNAT --to-source 10.0.0.1:1000-2000 --random --persistent"),
        Golden(name: "dnat6", family: .ipv6, kernel: KernelDumps.dnat6, targetName: "DNAT",
               rule: Rule(proto: ProtocolMatch(.tcp), matches: [.tcp(TCPMatch(ports: .destination(80)))],
                          target: .dnat(NATTarget(address: IPAddress("fd00::a"), ports: PortRange(8080)))),
               saveText: "-p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00::a]:8080"),
        Golden(name: "snat6", family: .ipv6, kernel: KernelDumps.snat6, targetName: "SNAT",
               rule: Rule(target: .snat(NATTarget(address: IPAddress("fd00::1")))),
               saveText: "-j SNAT --to-source fd00::1"),
        Golden(name: "comment jump", family: .ipv4, kernel: KernelDumps.commentJump, targetName: "PODNET-X",
               rule: Rule(matches: [.comment("podnet: jump")], target: .jump("PODNET-X")),
               saveText: "-m comment --comment \"podnet: jump\" -j PODNET-X"),
        Golden(name: "goto", family: .ipv4, kernel: KernelDumps.gotoChain, targetName: "PODNET-X",
               rule: Rule(target: .goto("PODNET-X")), saveText: "-g PODNET-X"),
    ]

    @Test(arguments: cases)
    func decodesKernelBytes(_ golden: Golden) throws {
        let decoded = try EntryCodec.decode(golden.kernel, family: golden.family, targetName: golden.targetName)
        #expect(decoded.rule == golden.rule)
        #expect(decoded.counters == .zero)
        #expect(IptablesSaveText.render(decoded.rule) == golden.saveText)
    }

    @Test(arguments: cases)
    func encodesToKernelBytes(_ golden: Golden) throws {
        let encoded = try EntryCodec.encode(golden.rule, family: golden.family)
        let expected = libiptcInputForm(golden.kernel, family: golden.family, standardName: golden.targetName)
        #expect(hex(encoded) == hex(expected))
    }

    /// Unmodelled extensions (limit, statistic, LOG, string) stay opaque and re-encode
    /// to exactly the kernel's bytes.
    @Test(arguments: ["limit", "statistic", "string"])
    func opaqueExtensionsRoundTrip(_ name: String) throws {
        let (kernel, family): ([UInt8], IPFamily) = switch name {
        case "limit": (KernelDumps.limit4, .ipv4)
        case "statistic": (KernelDumps.statisticLog4, .ipv4)
        default: (KernelDumps.string6, .ipv6)
        }
        let decoded = try EntryCodec.decode(kernel, family: family, targetName: nil)
        guard case .opaque(let ext) = decoded.rule.matches.first else {
            Issue.record("expected an opaque \(name) match, got \(decoded.rule.matches)")
            return
        }
        #expect(ext.name == name)
        #expect(IptablesSaveText.render(decoded.rule).contains("podnet: opaque \(name) revision \(ext.revision)"))
        let encoded = try EntryCodec.encode(decoded.rule, family: family)
        let standardName = decoded.rule.target == .accept ? "ACCEPT" : ""
        #expect(hex(encoded) == hex(libiptcInputForm(kernel, family: family, standardName: standardName)))
    }

    @Test func logTargetStaysOpaque() throws {
        let decoded = try EntryCodec.decode(KernelDumps.statisticLog4, family: .ipv4, targetName: nil)
        guard case .opaque(let target) = decoded.rule.target else {
            Issue.record("expected an opaque LOG target, got \(decoded.rule.target)")
            return
        }
        #expect(target.name == "LOG")
        // struct xt_log_info: level, logflags, then the NUL-terminated prefix.
        #expect(Array(target.data[2..<5]) == Array("x \0".utf8))
    }

    @Test func stringMatchKeepsTheHeaderSource() throws {
        let decoded = try EntryCodec.decode(KernelDumps.string6, family: .ipv6, targetName: nil)
        #expect(decoded.rule.source == AddressMatch(try IPNetwork(parsing: "fd00::/64")))
        #expect(IptablesSaveText.render(decoded.rule).hasPrefix("-s fd00::/64 -m string "))
    }
}

/// The kernel's bytes turned into what libiptc's callers hand it: comefrom zero,
/// extension names zero after their NUL, and a standard target named by its verdict or
/// chain ("" for fall-through) with verdict 0.
func libiptcInputForm(_ kernel: [UInt8], family: IPFamily, standardName: String) -> [UInt8] {
    var bytes = kernel
    let comefrom = family == .ipv4 ? 92 : 144
    let targetOffsetField = family == .ipv4 ? 88 : 140
    bytes.replaceSubrange(comefrom..<(comefrom + 4), with: [0, 0, 0, 0])
    let target = Int(bytes[targetOffsetField]) | Int(bytes[targetOffsetField + 1]) << 8
    var offset = family == .ipv4 ? 112 : 168
    while offset <= target {
        let name = (offset + 2)..<(offset + 31)
        if let end = bytes[name].firstIndex(of: 0) {
            bytes.replaceSubrange(end..<name.upperBound, with: [UInt8](repeating: 0, count: name.upperBound - end))
        }
        offset += Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
    }
    let nameField = (target + 2)..<(target + 31)
    if bytes[nameField].allSatisfy({ $0 == 0 }) {
        let name = Array(standardName.utf8)
        bytes.replaceSubrange(nameField, with: name + [UInt8](repeating: 0, count: 29 - name.count))
        bytes.replaceSubrange((target + 32)..<(target + 36), with: [0, 0, 0, 0])
    }
    return bytes
}
