/// The `CNI_*` variables of one invocation, checked as the verb needs them: ADD and
/// CHECK need a container, a network namespace and an interface name; DEL may come
/// with an empty `CNI_NETNS` (ctr sends one) or a namespace already gone; VERSION,
/// STATUS and GC need nothing else.
public struct CNIEnvironment: Sendable, Equatable {
    public var command: CNICommand
    public var containerID: String
    public var netns: String
    public var ifname: String
    /// `CNI_ARGS`, `K=V;K=V`, in order.
    public var args: [(key: String, value: String)]

    public static func == (lhs: CNIEnvironment, rhs: CNIEnvironment) -> Bool {
        lhs.command == rhs.command && lhs.containerID == rhs.containerID && lhs.netns == rhs.netns
            && lhs.ifname == rhs.ifname && lhs.args.map(\.key) == rhs.args.map(\.key)
            && lhs.args.map(\.value) == rhs.args.map(\.value)
    }

    /// Whether `CNI_COMMAND` is set: the binary is then a CNI plugin, not the CLI.
    public static func isPluginInvocation(_ variables: [String: String]) -> Bool {
        variables["CNI_COMMAND"] != nil
    }

    public init(_ variables: [String: String]) throws(CNIError) {
        let commandText = variables["CNI_COMMAND"] ?? ""
        guard let command = CNICommand(rawValue: commandText) else {
            throw CNIError(.invalidEnvironment, "unknown CNI_COMMAND \"\(commandText)\"",
                           details: "expected one of " + CNICommand.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.command = command
        containerID = variables["CNI_CONTAINERID"] ?? ""
        netns = variables["CNI_NETNS"] ?? ""
        ifname = variables["CNI_IFNAME"] ?? ""
        args = try Self.parseArgs(variables["CNI_ARGS"] ?? "")

        let needsAttachment = [CNICommand.add, .del, .check].contains(command)
        if needsAttachment {
            try Self.checkContainerID(containerID)
            try Self.checkInterfaceName(ifname)
        }
        if command == .add || command == .check {
            guard !netns.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_NETNS is required for \(command.rawValue)") }
        }
        if !netns.isEmpty, !netns.hasPrefix("/") {
            throw CNIError(.invalidEnvironment, "CNI_NETNS must be an absolute path", details: "got \"\(netns)\"")
        }
    }

    /// The value of `key` in `CNI_ARGS` (kubelet's `K8S_POD_NAME`, ...).
    public func arg(_ key: String) -> String? {
        args.last { $0.key == key }?.value
    }

    /// The pod this attachment serves, as the rules' comments name it: Kubernetes'
    /// namespace/name when the runtime passed them, else nil.
    public var kubernetesPod: String? {
        guard let name = arg("K8S_POD_NAME"), !name.isEmpty else { return nil }
        if let namespace = arg("K8S_POD_NAMESPACE"), !namespace.isEmpty { return namespace + "/" + name }
        return name
    }

    private static func parseArgs(_ text: String) throws(CNIError) -> [(key: String, value: String)] {
        var args: [(key: String, value: String)] = []
        for pair in text.split(separator: ";", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw CNIError(.invalidEnvironment, "CNI_ARGS: \"\(pair)\" is not KEY=VALUE")
            }
            args.append((String(pair[..<equals]), String(pair[pair.index(after: equals)...])))
        }
        return args
    }

    /// The spec's rule: an alphanumeric first, then alphanumerics, `_`, `.` and `-`.
    static func checkContainerID(_ id: String) throws(CNIError) {
        guard !id.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_CONTAINERID is required") }
        let bytes = Array(id.utf8)
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        let valid = isAlphanumeric(bytes[0]) && bytes.dropFirst().allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
        guard valid else {
            throw CNIError(.invalidEnvironment, "CNI_CONTAINERID \"\(id)\" is not a valid container ID",
                           details: "it must start with a letter or digit and hold only letters, digits, '_', '.' and '-'")
        }
    }

    /// The kernel's rule for interface names (dev_valid_name): 1 to 15 bytes, not "." or
    /// "..", no '/', ':' or white space.
    static func checkInterfaceName(_ name: String) throws(CNIError) {
        guard !name.isEmpty else { throw CNIError(.invalidEnvironment, "CNI_IFNAME is required") }
        let bytes = Array(name.utf8)
        let valid = bytes.count <= 15 && name != "." && name != ".."
            && !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7F }
        guard valid else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME \"\(name)\" is not a valid interface name",
                           details: "1 to 15 bytes, not '.' or '..', without '/', ':' or white space")
        }
    }
}
