/// Renders rules exactly as `iptables-legacy-save` (1.8.9) prints them, so that
/// podnet's golden files, its dry run and the kernel oracle compare as text.
public enum IptablesSaveText {
    /// `-A CHAIN <rule>`.
    public static func appendLine(_ rule: Rule, chain: ChainName) -> String {
        var line = Line("-A")
        line.add(chain.rawValue)
        write(rule, to: &line)
        return line.text
    }

    /// The rule's text without the `-A CHAIN` head.
    public static func render(_ rule: Rule) -> String {
        var line = Line()
        write(rule, to: &line)
        return line.text
    }

    /// Words joined by single spaces, appended in place: plans and renders print
    /// thousands of rules, and building arrays of words for each cost more than the
    /// rest of the rendering.
    struct Line {
        /// UTF-8 bytes: appending to a byte array is several times cheaper than to a String.
        private var bytes: [UInt8] = []

        init(_ first: String = "") {
            bytes.reserveCapacity(192)
            bytes.append(contentsOf: first.utf8)
        }

        var text: String { String(decoding: bytes, as: UTF8.self) }

        mutating func add(_ word: String) {
            if !bytes.isEmpty { bytes.append(UInt8(ascii: " ")) }
            bytes.append(contentsOf: word.utf8)
        }

        mutating func add(_ first: String, _ second: String) {
            add(first)
            add(second)
        }

        /// An option with its words, `!` first when negated (iptables-save's place for it).
        mutating func option(negated: Bool, _ name: String, _ value: String? = nil, _ second: String? = nil) {
            if negated { add("!") }
            add(name)
            if let value { add(value) }
            if let second { add(second) }
        }
    }

    static func write(_ rule: Rule, to line: inout Line) {
        // iptables-save skips a header test that tests nothing: a zero mask not negated,
        // an interface mask starting with 0 (names "" and "+"), protocol 0 not negated.
        if let source = rule.source, source.tests { line.option(negated: source.negated, "-s", address(source)) }
        if let destination = rule.destination, destination.tests {
            line.option(negated: destination.negated, "-d", address(destination))
        }
        if let input = rule.inInterface, input.tests { line.option(negated: input.negated, "-i", input.name) }
        if let output = rule.outInterface, output.tests { line.option(negated: output.negated, "-o", output.name) }
        if let proto = rule.proto, proto.proto.number != 0 || proto.negated {
            line.option(negated: proto.negated, "-p", proto.proto.description)
        }
        for match in rule.matches {
            line.add("-m", match.extensionName)
            write(match, to: &line)
        }
        write(rule.target, to: &line)
    }

    /// `10.0.0.0/8`; a mask with holes prints in dotted form (IPv4) as iptables does.
    static func address(_ match: AddressMatch) -> String {
        let base = match.address.masked(by: match.mask)
        // Concatenated, not interpolated: interpolating a value casts it dynamically,
        // which costs more than the printing when plans hold thousands of rules.
        if let length = match.mask.contiguousPrefixLength { return base.description + "/" + String(length) }
        return base.description + "/" + match.mask.description
    }

    static func write(_ match: Match, to line: inout Line) {
        switch match {
        case .comment(let text):
            line.add("--comment", quoted(text))
        case .addressType(let m):
            if !m.sourceTypes.isEmpty {
                line.option(negated: m.sourceNegated, "--src-type", m.sourceTypes.names.joined(separator: ","))
            }
            if !m.destinationTypes.isEmpty {
                line.option(negated: m.destinationNegated, "--dst-type", m.destinationTypes.names.joined(separator: ","))
            }
            if m.limitToInInterface { line.add("--limit-iface-in") }
            if m.limitToOutInterface { line.add("--limit-iface-out") }
        case .conntrack(let m):
            let names = ConntrackStates.printOrder.filter { m.states.contains($0.0) }.map(\.1)
            line.option(negated: m.negated, "--ctstate", names.joined(separator: ","))
        case .mark(let m):
            line.option(negated: m.negated, "--mark", m.mask == .max ? hex(m.value) : hex(m.value) + "/" + hex(m.mask))
        case .tcp(let m):
            writePorts(m.ports, printsAll: false, to: &line)
            if m.option != nil || m.optionNegated {
                line.option(negated: m.optionNegated, "--tcp-option", String(m.option ?? 0))
            }
            if let flags = m.flags, flags.mask != 0 || flags.negated {
                line.option(negated: flags.negated, "--tcp-flags", tcpFlags(flags.mask), tcpFlags(flags.comparison))
            }
        case .udp(let m):
            writePorts(m, printsAll: false, to: &line)
        case .sctp(let m):
            // sctp records which ports are tested, so it prints even 0:65535.
            writePorts(m, printsAll: true, to: &line)
        case .multiport(let m):
            let option: String
            switch m.direction {
            case .source: option = "--sports"
            case .destination: option = "--dports"
            case .either: option = "--ports"
            }
            line.option(negated: m.negated, option, m.ports.map(\.description).joined(separator: ","))
        case .physdev(let m):
            // libxt_physdev's save order: is-in, in, is-out, out, is-bridged.
            if let negated = m.isInNegated { line.option(negated: negated, "--physdev-is-in") }
            if let input = m.inInterface { line.option(negated: input.negated, "--physdev-in", input.name) }
            if let negated = m.isOutNegated { line.option(negated: negated, "--physdev-is-out") }
            if let output = m.outInterface { line.option(negated: output.negated, "--physdev-out", output.name) }
            if let negated = m.isBridgedNegated { line.option(negated: negated, "--physdev-is-bridged") }
        case .opaque(let ext):
            line.add(opaqueData(ext))
        }
    }

    static func write(_ target: Target, to line: inout Line) {
        switch target {
        case .fallThrough: break
        case .accept: line.add("-j", "ACCEPT")
        case .drop: line.add("-j", "DROP")
        case .queue: line.add("-j", "QUEUE")
        case .returnFromChain: line.add("-j", "RETURN")
        case .jump(let chain): line.add("-j", chain.rawValue)
        case .goto(let chain): line.add("-g", chain.rawValue)
        case .masquerade(let t):
            line.add("-j", "MASQUERADE")
            if let ports = t.ports { line.add("--to-ports", portsWithDash(ports)) }
            if t.random { line.add("--random") }
            if t.randomFully { line.add("--random-fully") }
        case .dnat(let t):
            line.add("-j", "DNAT")
            writeNAT(t, option: "--to-destination", to: &line)
        case .snat(let t):
            line.add("-j", "SNAT")
            writeNAT(t, option: "--to-source", to: &line)
        case .mark(let t):
            line.add("-j", "MARK")
            line.add("--set-xmark", hex(t.value) + "/" + hex(t.mask))
        case .reject(let kind):
            line.add("-j", "REJECT")
            line.add("--reject-with", kind.name)
        case .opaque(let ext):
            line.add("-j", ext.name)
            line.add(opaqueData(ext))
        }
    }

    /// An extension podnet does not model: named, with its revision and data in hex,
    /// so that a person recognises it and nothing pretends to be iptables' own text.
    static func opaqueData(_ ext: OpaqueExtension) -> String {
        let hexData = ext.data.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        return "/* podnet: opaque \(ext.name) revision \(ext.revision) data 0x\(hexData) */"
    }

    /// tcp and udp keep "any port" as 0:65535 and do not print it (`printsAll` false).
    static func writePorts(_ m: PortMatch, printsAll: Bool, to line: inout Line) {
        if let range = m.sourcePorts, printsAll || range != .all {
            line.option(negated: m.sourceNegated, "--sport", range.description)
        }
        if let range = m.destinationPorts, printsAll || range != .all {
            line.option(negated: m.destinationNegated, "--dport", range.description)
        }
    }

    static func portsWithDash(_ range: PortRange) -> String {
        range.first == range.last ? String(range.first) : String(range.first) + "-" + String(range.last)
    }

    /// libxt_DNAT's sprint_range: IPv6 addresses are bracketed (as one range) only when
    /// ports follow; with neither addresses nor ports the option is left out.
    static func writeNAT(_ t: NATTarget, option: String, to line: inout Line) {
        var text = ""
        if let min = t.minAddress {
            let max = t.maxAddress ?? min
            text = max != min ? min.description + "-" + max.description : min.description
            if min.family == .ipv6, t.ports != nil { text = "[" + text + "]" }
        }
        if let ports = t.ports { text += ":" + portsWithDash(ports) }
        if !text.isEmpty { line.add(option, text) }
        if t.random { line.add("--random") }
        if t.randomFully { line.add("--random-fully") }
        if t.persistent { line.add("--persistent") }
    }

    static func tcpFlags(_ bits: UInt8) -> String {
        let names: [(UInt8, String)] = [(0x01, "FIN"), (0x02, "SYN"), (0x04, "RST"), (0x08, "PSH"),
                                        (0x10, "ACK"), (0x20, "URG")]
        if bits == 0x3F { return "FIN,SYN,RST,PSH,ACK,URG" }
        if bits == 0 { return "NONE" }
        return names.filter { bits & $0.0 != 0 }.map(\.1).joined(separator: ",")
    }

    static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

    /// Bare when every character is in [A-Za-z0-9_-]; otherwise double-quoted with
    /// `"`, `\` and `'` escaped (libxtables' xtables_save_string).
    public static func quoted(_ text: String) -> String {
        // Byte by byte: every podnet rule carries a comment, and plans print thousands.
        let utf8 = text.utf8
        func isBare(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
            default: return false
            }
        }
        if !utf8.isEmpty, utf8.allSatisfy(isBare) { return text }
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(utf8.count + 8)
        for byte in utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "'") {
                out.append(UInt8(ascii: "\\"))
            }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }
}

extension AddressMatch {
    /// False for a zero mask that is not negated: it matches everything and is not printed.
    var tests: Bool { negated || mask.high != 0 || mask.low != 0 }
}

extension InterfaceMatch {
    /// False for "" and "+": their mask is empty, iptables-save does not print them.
    var tests: Bool { !name.isEmpty && name != "+" }
}

extension IPAddress {
    /// The address under an arbitrary (not necessarily contiguous) mask.
    public func masked(by mask: IPAddress) -> IPAddress {
        let raw = zip(bytes, mask.bytes).map { $0 & $1 }
        return IPAddress(bytes: raw, family: family)
    }
}
