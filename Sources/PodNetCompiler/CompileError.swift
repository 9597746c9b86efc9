import PodNet

/// Why a NodeConfig could not be compiled, or why a compiled table would not be
/// accepted by the kernel. NodeConfig is validated before it gets here, so every
/// case is a podnet defect caught before anything reaches the kernel (which
/// would only answer EINVAL); each names the table, chain and rule concerned.
public enum CompileError: Error, Hashable, CustomStringConvertible {
    /// A podnet chain that is malformed as a whole.
    case invalidChain(table: TableID, chain: ChainName, problem: ChainProblem)
    /// A rule the kernel would refuse, or that breaks podnet's own invariants.
    case invalidRule(table: TableID, location: RuleLocation, rule: Rule, problem: RuleProblem)
    /// Chains that jump to each other in a loop (the kernel refuses the table: ELOOP).
    case jumpCycle(table: TableID, chains: [ChainName])
    /// promiscuous-bridge needs ebtables de-duplication this kernel lacks; config
    /// validation refuses it, so seeing it here is an internal error.
    case unsupportedHairpinMode(HairpinMode)
    /// A peer pod CIDR of a family the peer has no node IP for (validation refuses it).
    case peerWithoutNodeIP(peer: String, podCIDR: IPNetwork)
    /// Two pods whose host-side interface names hash to the same value.
    case hostInterfaceCollision(name: String, pods: [String])

    public var description: String {
        switch self {
        case .invalidChain(let table, let chain, let problem):
            return "internal error: \(table) chain \(chain): \(problem)"
        case .invalidRule(let table, let location, let rule, let problem):
            return "internal error: \(table) \(location), `\(IptablesSaveText.render(rule))`: \(problem)"
        case .jumpCycle(let table, let chains):
            return "internal error: \(table) chains jump in a cycle: "
                + chains.map(\.rawValue).joined(separator: " -> ")
        case .unsupportedHairpinMode(let mode):
            return "internal error: hairpin mode \(mode.rawValue) reached the compiler; "
                + "it needs ebtables de-duplication, which this kernel does not offer"
        case .peerWithoutNodeIP(let peer, let podCIDR):
            return "internal error: peer \(peer) has pod CIDR \(podCIDR) but no \(podCIDR.family) node IP"
        case .hostInterfaceCollision(let name, let pods):
            return "pods \(pods.joined(separator: ", ")) would share the host interface name \(name); rename one"
        }
    }
}

/// Where a rule sits: in a podnet chain, or as podnet's jump from a built-in chain.
public enum RuleLocation: Hashable, Sendable, CustomStringConvertible {
    /// `number` counts from 1, as `iptables -L --line-numbers` does.
    case chain(ChainName, number: Int)
    case jump(from: BuiltinChain)

    public var description: String {
        switch self {
        case .chain(let chain, let number): return "chain \(chain) rule \(number)"
        case .jump(let builtin): return "jump from \(builtin.rawValue)"
        }
    }
}

public enum ChainProblem: Hashable, Sendable, CustomStringConvertible {
    case nameTooLong(length: Int)
    case notPodnetOwned
    case declaredTwice
    /// No jump leads to it, so it could never act (and would never be cleaned up as used).
    case unreachable

    public var description: String {
        switch self {
        case .nameTooLong(let length):
            return "name is \(length) bytes, the kernel allows \(ChainName.maxLength)"
        case .notPodnetOwned:
            return "name does not start with \(ChainName.podnetPrefix)"
        case .declaredTwice:
            return "declared more than once"
        case .unreachable:
            return "no jump from a built-in chain reaches it"
        }
    }
}

public enum RuleProblem: Hashable, Sendable, CustomStringConvertible {
    /// The target is valid only in some tables or hooks; `reachedFrom` are the hooks that reach the rule.
    case targetNotAllowed(RestrictedTarget, table: TableName, reachedFrom: [BuiltinChain])
    /// A jump or goto to a chain that is not a podnet chain of this table.
    case unknownChain(ChainName)
    case commentTooLong(bytes: Int)
    /// `-m tcp` / `-m udp` / `-m sctp` without the matching, non-negated `-p`.
    case portMatchWithoutProtocol(IPProtocol)
    /// An address of the other family.
    case wrongFamily(IPAddress)
    /// podnet's jumps must carry a first comment starting "podnet:" (that is how it finds them).
    case jumpWithoutPodnetComment
    case jumpNotToPodnetChain
    case builtinChainNotInTable
    /// More than one podnet jump from the same built-in chain.
    case duplicateJump
    /// An extension target podnet cannot check.
    case opaqueTarget(String)

    public var description: String {
        switch self {
        case .targetNotAllowed(let target, let table, let hooks):
            let reached = hooks.isEmpty ? "no hook" : hooks.map(\.rawValue).joined(separator: ", ")
            return "\(target.rawValue) is valid only \(target.allowedPlaces); "
                + "this rule is in the \(table.rawValue) table, reached from \(reached)"
        case .unknownChain(let chain):
            return "jumps to \(chain), which is not a podnet chain of this table"
        case .commentTooLong(let bytes):
            return "comment is \(bytes) bytes, the kernel allows \(HostPortMapping.maxCommentBytes)"
        case .portMatchWithoutProtocol(let proto):
            return "-m \(proto) needs -p \(proto) (the kernel refuses it otherwise)"
        case .wrongFamily(let address):
            return "address \(address) is not of this table's family"
        case .jumpWithoutPodnetComment:
            return "podnet's jump must have a first comment starting \"\(JumpRule.commentPrefix)\""
        case .jumpNotToPodnetChain:
            return "podnet's jump must jump to a podnet chain"
        case .builtinChainNotInTable:
            return "the table has no such built-in chain"
        case .duplicateJump:
            return "podnet jumps from this built-in chain more than once"
        case .opaqueTarget(let name):
            return "target \(name) is not one the compiler can check"
        }
    }
}
