/// Renders rules exactly as `iptables-legacy-save` (1.8.9) prints them, so that
/// podnet's golden files, its dry run and the kernel oracle compare as text.
public enum IptablesSaveText {
    /// `-A CHAIN <rule>`.
    public static func appendLine(_ rule: Rule, chain: ChainName) -> String {
        var text: [UInt8] = []
        appendLine(rule, chain: chain, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// `-A CHAIN <rule>` appended to `text`, without a newline: plans and renders
    /// print thousands of rules into one buffer rather than a String each.
    public static func appendLine(_ rule: Rule, chain: ChainName, to text: inout [UInt8]) {
        var line = Line(continuing: &text)
        line.add("-A")
        line.add(chain.rawValue)
        write(rule, to: &line)
        line.finish(into: &text)
    }

    /// The rule's text without the `-A CHAIN` head.
    public static func render(_ rule: Rule) -> String {
        var text: [UInt8] = []
        render(rule, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// The rule's text without the `-A CHAIN` head, appended to `text`.
    public static func render(_ rule: Rule, to text: inout [UInt8]) {
        var line = Line(continuing: &text)
        write(rule, to: &line)
        line.finish(into: &text)
    }

    /// Words joined by single spaces, appended in place to the caller's UTF-8 bytes:
    /// plans and renders print thousands of rules, and a String or an array of words
    /// per rule cost more than the rest of the rendering.
    struct Line {
        private var bytes: [UInt8] = []
        /// Where this line starts in `bytes`: the first word gets no space before it.
        private let start: Int

        /// Takes over `text` (no copy: the caller's array is left empty until `finish`).
        init(continuing text: inout [UInt8]) {
            swap(&bytes, &text)
            start = bytes.count
            bytes.reserveCapacity(start + 192)
        }

        /// Hands the bytes, this line included, back to the caller.
        mutating func finish(into text: inout [UInt8]) {
            swap(&bytes, &text)
        }

        private mutating func space() {
            if bytes.count > start { bytes.append(UInt8(ascii: " ")) }
        }

        mutating func add(_ word: String) {
            space()
            bytes.appendUTF8(word)
        }

        mutating func add(_ first: String, _ second: String) {
            add(first)
            add(second)
        }

        /// A decimal number as a word.
        mutating func add<T: BinaryInteger>(decimal value: T) {
            space()
            bytes.appendDecimal(value)
        }

        /// `FIRST` or `FIRST<separator>LAST` as a word (ports: `80`, `8000:8080`, `80-90`).
        mutating func add(_ range: PortRange, separator: UInt8) {
            space()
            appendRange(range, separator: separator)
        }

        private mutating func appendRange(_ range: PortRange, separator: UInt8) {
            bytes.appendDecimal(range.first)
            if range.last != range.first {
                bytes.append(separator)
                bytes.appendDecimal(range.last)
            }
        }

        /// `0x` and lower-case hex digits, as iptables prints marks.
        mutating func add(hex value: UInt32) {
            space()
            appendHex(value)
        }

        /// `0xVALUE/0xMASK`.
        mutating func add(hex value: UInt32, mask: UInt32) {
            space()
            appendHex(value)
            bytes.append(UInt8(ascii: "/"))
            appendHex(mask)
        }

        private mutating func appendHex(_ value: UInt32) {
            bytes.append(UInt8(ascii: "0"))
            bytes.append(UInt8(ascii: "x"))
            var shift = max(0, (32 - value.leadingZeroBitCount + 3) / 4 * 4 - 4)
            while true {
                let digit = UInt8(truncatingIfNeeded: value >> UInt32(shift) & 0xF)
                bytes.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
                if shift == 0 { break }
                shift -= 4
            }
        }

        /// `address/length`, or `address/mask` for a mask with holes (IPv4 dotted).
        mutating func add(_ match: AddressMatch) {
            space()
            bytes.appendUTF8(match.address.masked(by: match.mask).description)
            bytes.append(UInt8(ascii: "/"))
            if let length = match.mask.contiguousPrefixLength {
                bytes.appendDecimal(length)
            } else {
                bytes.appendUTF8(match.mask.description)
            }
        }

        /// Bare when every character is in [A-Za-z0-9_-]; otherwise double-quoted with
        /// `"`, `\` and `'` escaped (libxtables' xtables_save_string).
        mutating func add(quoted text: String) {
            space()
            let copied: Void? = text.utf8.withContiguousStorageIfAvailable { appendQuoted($0) }
            if copied == nil {
                let utf8 = Array(text.utf8)
                utf8.withUnsafeBufferPointer { appendQuoted($0) }
            }
        }

        private mutating func appendQuoted(_ utf8: UnsafeBufferPointer<UInt8>) {
            if !utf8.isEmpty, utf8.allSatisfy(IptablesSaveText.isBare) {
                bytes.append(contentsOf: utf8)
                return
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "'") {
                    bytes.append(UInt8(ascii: "\\"))
                }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }

        /// `ADDR[-ADDR][:PORT[-PORT]]`, IPv6 addresses in brackets when ports follow.
        mutating func addNATRange(_ t: NATTarget) {
            space()
            if let min = t.minAddress {
                let bracketed = min.family == .ipv6 && t.ports != nil
                if bracketed { bytes.append(UInt8(ascii: "[")) }
                bytes.appendUTF8(min.description)
                if let max = t.maxAddress, max != min {
                    bytes.append(UInt8(ascii: "-"))
                    bytes.appendUTF8(max.description)
                }
                if bracketed { bytes.append(UInt8(ascii: "]")) }
            }
            if let ports = t.ports {
                bytes.append(UInt8(ascii: ":"))
                appendRange(ports, separator: UInt8(ascii: "-"))
            }
        }

        /// An option, `!` first when negated (iptables-save's place for it).
        mutating func option(negated: Bool, _ name: String) {
            if negated { add("!") }
            add(name)
        }

        /// An option with its words, `!` first when negated.
        mutating func option(negated: Bool, _ name: String, _ value: String, _ second: String? = nil) {
            option(negated: negated, name)
            add(value)
            if let second { add(second) }
        }
    }

    static func write(_ rule: Rule, to line: inout Line) {
        // iptables-save skips a header test that tests nothing: a zero mask not negated,
        // an interface mask starting with 0 (names "" and "+"), protocol 0 not negated.
        if let source = rule.source, source.tests {
            line.option(negated: source.negated, "-s")
            line.add(source)
        }
        if let destination = rule.destination, destination.tests {
            line.option(negated: destination.negated, "-d")
            line.add(destination)
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

    static func write(_ match: Match, to line: inout Line) {
        switch match {
        case .comment(let text):
            line.add("--comment")
            line.add(quoted: text)
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
            line.option(negated: m.negated, "--mark")
            if m.mask == .max { line.add(hex: m.value) } else { line.add(hex: m.value, mask: m.mask) }
        case .tcp(let m):
            writePorts(m.ports, printsAll: false, to: &line)
            if m.option != nil || m.optionNegated {
                line.option(negated: m.optionNegated, "--tcp-option")
                line.add(decimal: m.option ?? 0)
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
        case .set(let m):
            line.option(negated: m.negated, "--match-set", m.set, m.directions.map(\.rawValue).joined(separator: ","))
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
            if let ports = t.ports {
                line.add("--to-ports")
                line.add(ports, separator: UInt8(ascii: "-"))
            }
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
            line.add("--set-xmark")
            line.add(hex: t.value, mask: t.mask)
        case .reject(let kind):
            line.add("-j", "REJECT")
            line.add("--reject-with", kind.name)
        case .opaque(let ext):
            line.add("-j", ext.name)
            line.add(opaqueData(ext))
        case .undecoded(let entry):
            line.add("/* podnet: undecodable entry: \(entry.summary) */")
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
            line.option(negated: m.sourceNegated, "--sport")
            line.add(range, separator: UInt8(ascii: ":"))
        }
        if let range = m.destinationPorts, printsAll || range != .all {
            line.option(negated: m.destinationNegated, "--dport")
            line.add(range, separator: UInt8(ascii: ":"))
        }
    }

    /// libxt_DNAT's sprint_range: IPv6 addresses are bracketed (as one range) only when
    /// ports follow; with neither addresses nor ports the option is left out.
    static func writeNAT(_ t: NATTarget, option: String, to line: inout Line) {
        if t.minAddress != nil || t.ports != nil {
            line.add(option)
            line.addNATRange(t)
        }
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

    /// [A-Za-z0-9_-]: the characters iptables-save prints without quotes.
    static func isBare(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
        default: return false
        }
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
