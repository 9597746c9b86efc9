/// The naming rules of the things a config names, each returning what is wrong
/// with a name (nil when it is fine), so the message can say why.
enum NameRules {
    /// Kubernetes object names (nodes, pods): a DNS-1123 subdomain, as the API server
    /// requires, so that names from a NodeList and from the config compare equal.
    static func dnsSubdomainProblem(_ name: String) -> String? {
        let maxLength = 253
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > maxLength {
            return "\"\(name.prefix(40))...\" is \(name.utf8.count) characters long (a DNS-1123 subdomain has at most \(maxLength))"
        }
        let isAlphanumeric: (UInt8) -> Bool = { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        // One pass (a NodeList or a config names thousands of nodes): each label starts
        // and ends with a letter or digit, and holds only those and '-'.
        var bytes = name
        let isValid = bytes.withUTF8 { bytes in
            var previous = UInt8(ascii: ".")
            var valid = true
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "."): valid = valid && isAlphanumeric(previous)
                case UInt8(ascii: "-"): valid = valid && previous != UInt8(ascii: ".")
                default: valid = valid && isAlphanumeric(byte)
                }
                previous = byte
            }
            return valid && isAlphanumeric(previous)
        }
        if isValid { return nil }
        let lowercaseHint = name.lowercased() != name && dnsSubdomainProblem(name.lowercased()) == nil
            ? " (did you mean \(name.lowercased())?)" : ""
        return "\"\(name)\" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', "
            + "starting and ending with a letter or digit)\(lowercaseHint)"
    }

    /// The kernel's dev_valid_name: at most IFNAMSIZ-1 bytes, no '/', ':' or whitespace,
    /// not "." or "..".
    static func interfaceNameProblem(_ name: String) -> String? {
        let maxBytes = 15
        if name.isEmpty { return "an interface name must not be empty" }
        if name.utf8.count > maxBytes {
            return "\"\(name)\" is \(name.utf8.count) bytes long (the kernel allows at most \(maxBytes) in an interface name)"
        }
        if name == "." || name == ".." { return "\"\(name)\" is not a valid interface name" }
        if let bad = name.first(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) {
            let shown = bad.isWhitespace ? "whitespace" : "'\(bad)'"
            return "\"\(name)\" is not a valid interface name (it contains \(shown))"
        }
        return nil
    }

    /// Where named network namespaces live (`ip netns add NAME`).
    static let netnsDirectory = "/run/netns"

    /// A pod's netns: an absolute path, or a bare name under /run/netns.
    static func netnsPath(_ text: String) -> Result<String, NetnsPathProblem> {
        if text.hasPrefix("/") { return .success(text) }
        if text.contains("/") || text.isEmpty || text == "." || text == ".." {
            return .failure(NetnsPathProblem(text: text))
        }
        return .success(netnsDirectory + "/" + text)
    }

    struct NetnsPathProblem: Error, CustomStringConvertible {
        var text: String
        var description: String {
            "\"\(text)\" is neither an absolute path nor a bare namespace name (a name means \(NameRules.netnsDirectory)/NAME)"
        }
    }
}
