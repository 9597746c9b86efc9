/// Renders rules exactly as `iptables-legacy-save` (1.8.9) prints them, so that
/// podnet's golden files, its dry run and the kernel oracle compare as text.
public enum IptablesSaveText {
    /// `-A CHAIN <rule>`.
    public static func appendLine(_ rule: Rule, chain: ChainName) -> String {
        let text = render(rule)
        return text.isEmpty ? "-A \(chain)" : "-A \(chain) " + text
    }

    /// The rule's text without the `-A CHAIN` head.
    public static func render(_ rule: Rule) -> String {
        var words: [String] = []
        // iptables-save skips a header test that tests nothing: a zero mask not negated,
        // an interface mask starting with 0 (names "" and "+"), protocol 0 not negated.
        if let source = rule.source, source.tests {
            words += negation(source.negated) + ["-s", address(source)]
        }
        if let destination = rule.destination, destination.tests {
            words += negation(destination.negated) + ["-d", address(destination)]
        }
        if let input = rule.inInterface, input.tests { words += negation(input.negated) + ["-i", input.name] }
        if let output = rule.outInterface, output.tests { words += negation(output.negated) + ["-o", output.name] }
        if let proto = rule.proto, proto.proto.number != 0 || proto.negated {
            words += negation(proto.negated) + ["-p", proto.proto.description]
        }
        for match in rule.matches { words += ["-m", match.extensionName] + render(match) }
        words += render(rule.target)
        return words.joined(separator: " ")
    }

    /// `10.0.0.0/8`; a mask with holes prints in dotted form (IPv4) as iptables does.
    static func address(_ match: AddressMatch) -> String {
        let base = match.address.masked(by: match.mask)
        if let length = match.mask.contiguousPrefixLength { return "\(base)/\(length)" }
        return "\(base)/\(match.mask)"
    }

    static func negation(_ negated: Bool) -> [String] { negated ? ["!"] : [] }

    static func render(_ match: Match) -> [String] {
        switch match {
        case .comment(let text):
            return ["--comment", quoted(text)]
        case .addressType(let m):
            var words: [String] = []
            if !m.sourceTypes.isEmpty {
                words += negation(m.sourceNegated) + ["--src-type", m.sourceTypes.names.joined(separator: ",")]
            }
            if !m.destinationTypes.isEmpty {
                words += negation(m.destinationNegated) + ["--dst-type", m.destinationTypes.names.joined(separator: ",")]
            }
            if m.limitToInInterface { words.append("--limit-iface-in") }
            if m.limitToOutInterface { words.append("--limit-iface-out") }
            return words
        case .conntrack(let m):
            let names = ConntrackStates.printOrder.filter { m.states.contains($0.0) }.map(\.1)
            return negation(m.negated) + ["--ctstate", names.joined(separator: ",")]
        case .mark(let m):
            let value = m.mask == .max ? hex(m.value) : "\(hex(m.value))/\(hex(m.mask))"
            return negation(m.negated) + ["--mark", value]
        case .tcp(let m):
            var words = ports(m.ports, printsAll: false)
            if m.option != nil || m.optionNegated {
                words += negation(m.optionNegated) + ["--tcp-option", String(m.option ?? 0)]
            }
            if let flags = m.flags, flags.mask != 0 || flags.negated {
                words += negation(flags.negated) + ["--tcp-flags", tcpFlags(flags.mask), tcpFlags(flags.comparison)]
            }
            return words
        case .udp(let m):
            return ports(m, printsAll: false)
        case .sctp(let m):
            // sctp records which ports are tested, so it prints even 0:65535.
            return ports(m, printsAll: true)
        case .multiport(let m):
            let option: String
            switch m.direction {
            case .source: option = "--sports"
            case .destination: option = "--dports"
            case .either: option = "--ports"
            }
            return negation(m.negated) + [option, m.ports.map(\.description).joined(separator: ",")]
        case .physdev(let m):
            var words: [String] = []
            // libxt_physdev's save order: is-in, in, is-out, out, is-bridged.
            if let negated = m.isInNegated { words += negation(negated) + ["--physdev-is-in"] }
            if let input = m.inInterface { words += negation(input.negated) + ["--physdev-in", input.name] }
            if let negated = m.isOutNegated { words += negation(negated) + ["--physdev-is-out"] }
            if let output = m.outInterface { words += negation(output.negated) + ["--physdev-out", output.name] }
            if let negated = m.isBridgedNegated { words += negation(negated) + ["--physdev-is-bridged"] }
            return words
        case .opaque(let ext):
            return opaque(ext)
        }
    }

    static func render(_ target: Target) -> [String] {
        switch target {
        case .fallThrough: return []
        case .accept: return ["-j", "ACCEPT"]
        case .drop: return ["-j", "DROP"]
        case .queue: return ["-j", "QUEUE"]
        case .returnFromChain: return ["-j", "RETURN"]
        case .jump(let chain): return ["-j", chain.rawValue]
        case .goto(let chain): return ["-g", chain.rawValue]
        case .masquerade(let t):
            var words = ["-j", "MASQUERADE"]
            if let ports = t.ports { words += ["--to-ports", portsWithDash(ports)] }
            if t.random { words.append("--random") }
            if t.randomFully { words.append("--random-fully") }
            return words
        case .dnat(let t):
            return ["-j", "DNAT"] + natRange(t, option: "--to-destination") + natFlags(t)
        case .snat(let t):
            return ["-j", "SNAT"] + natRange(t, option: "--to-source") + natFlags(t)
        case .mark(let t):
            return ["-j", "MARK", "--set-xmark", "\(hex(t.value))/\(hex(t.mask))"]
        case .reject(let kind):
            return ["-j", "REJECT", "--reject-with", kind.name]
        case .opaque(let ext):
            return ["-j", ext.name] + opaqueData(ext)
        }
    }

    /// An extension podnet does not model: named, with its revision and data in hex,
    /// so that a person recognises it and nothing pretends to be iptables' own text.
    static func opaque(_ ext: OpaqueExtension) -> [String] { opaqueData(ext) }

    static func opaqueData(_ ext: OpaqueExtension) -> [String] {
        let hexData = ext.data.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        return ["/* podnet: opaque \(ext.name) revision \(ext.revision) data 0x\(hexData.isEmpty ? "" : hexData) */"]
    }

    /// tcp and udp keep "any port" as 0:65535 and do not print it (`printsAll` false).
    static func ports(_ m: PortMatch, printsAll: Bool) -> [String] {
        var words: [String] = []
        if let range = m.sourcePorts, printsAll || range != .all {
            words += negation(m.sourceNegated) + ["--sport", range.description]
        }
        if let range = m.destinationPorts, printsAll || range != .all {
            words += negation(m.destinationNegated) + ["--dport", range.description]
        }
        return words
    }

    static func portsWithDash(_ range: PortRange) -> String {
        range.first == range.last ? String(range.first) : "\(range.first)-\(range.last)"
    }

    /// libxt_DNAT's sprint_range: IPv6 addresses are bracketed (as one range) only when
    /// ports follow; with neither addresses nor ports the option is left out.
    static func natRange(_ t: NATTarget, option: String) -> [String] {
        var text = ""
        if let min = t.minAddress {
            let max = t.maxAddress ?? min
            text = max != min ? "\(min)-\(max)" : "\(min)"
            if min.family == .ipv6, t.ports != nil { text = "[\(text)]" }
        }
        if let ports = t.ports { text += ":" + portsWithDash(ports) }
        return text.isEmpty ? [] : [option, text]
    }

    static func natFlags(_ t: NATTarget) -> [String] {
        var words: [String] = []
        if t.random { words.append("--random") }
        if t.randomFully { words.append("--random-fully") }
        if t.persistent { words.append("--persistent") }
        return words
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
        let bare = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                               || scalar == "_" || scalar == "-")
        }
        if bare { return text }
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" || scalar == "'" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
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
