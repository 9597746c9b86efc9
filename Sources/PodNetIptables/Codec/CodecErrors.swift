import PodNet

/// The fixed-header fields of an entry, named in decoding errors.
public enum EntryHeaderField: String, Sendable, Hashable {
    case source, destination, inInterface, outInterface, proto, flags, invertFlags, tos, padding
}

/// Why bytes are not a rule podnet can represent. Decoding never traps: every
/// malformed or unrepresentable input ends here.
public enum EntryDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer bytes than the fixed header, or than `next_offset` says.
    case truncated(length: Int, needed: Int)
    /// target_offset / next_offset do not describe matches followed by one target.
    case badOffsets(targetOffset: Int, nextOffset: Int, length: Int)
    /// A match or target header whose size is short, unaligned or runs past its end.
    case badExtensionSize(offset: Int, size: Int)
    /// A match or target name that is not NUL-terminated text.
    case badExtensionName(offset: Int)
    /// A header field holding something the rule model cannot express
    /// (fragment or tos tests, unmasked addresses, odd interface masks, ...).
    case unrepresentable(EntryHeaderField)
    /// A standard target whose size or verdict the kernel would not produce.
    case badStandardTarget(size: Int, verdict: Int32)
    /// A jump whose destination chain the caller could not name.
    case unresolvedJump(verdict: Int32)
    /// The goto flag on a target that is not a jump to a user chain.
    case gotoWithoutChain

    public var description: String {
        switch self {
        case .truncated(let length, let needed):
            return "entry is \(length) bytes, needs \(needed)"
        case .badOffsets(let target, let next, let length):
            return "bad offsets: target_offset \(target), next_offset \(next), length \(length)"
        case .badExtensionSize(let offset, let size):
            return "extension at byte \(offset) has bad size \(size)"
        case .badExtensionName(let offset):
            return "extension at byte \(offset) has a name that is not NUL-terminated text"
        case .unrepresentable(let field):
            return "header field \(field.rawValue) holds a value podnet does not model"
        case .badStandardTarget(let size, let verdict):
            return "standard target of size \(size) with verdict \(verdict)"
        case .unresolvedJump(let verdict):
            return "jump (verdict \(verdict)) to a chain libiptc did not name"
        case .gotoWithoutChain:
            return "goto flag on a target that is not a user chain"
        }
    }
}

/// Why a rule cannot be written as a kernel entry (the compiler should never let
/// these through; the codec checks rather than truncating silently).
public enum RuleEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An address, NAT address or REJECT kind of the other family.
    case familyMismatch(expected: IPFamily, in: String)
    /// Interface names hold at most 15 bytes (IFNAMSIZ with its NUL).
    case interfaceNameTooLong(String)
    /// Comments hold at most 255 bytes and no NUL.
    case invalidComment(String)
    /// Chain names hold at most 28 bytes.
    case invalidChainName(ChainName)
    /// multiport holds at most 15 slots (a range takes two).
    case tooManyMultiportPorts(Int)
    /// Extension names hold at most 28 bytes; opaque data must be 8-byte aligned.
    case invalidExtension(name: String, dataSize: Int)
    /// next_offset is 16 bits.
    case entryTooLarge(Int)
    /// A set match names an ipset the kernel does not have (a rule holds its index).
    case unknownIPSet(String)
    /// A set match looks at 1..6 dimensions.
    case badSetDimensions(Int)
    /// An undecoded entry is written whole by `EntryCodec.encode`, never as a target.
    case undecodedEntryAsTarget(String)

    public var description: String {
        switch self {
        case .familyMismatch(let family, let place):
            return "\(place) is not an \(family) value"
        case .interfaceNameTooLong(let name):
            return "interface name \"\(name)\" is longer than 15 bytes"
        case .invalidComment(let text):
            return "comment \"\(text)\" is longer than 255 bytes or contains NUL"
        case .invalidChainName(let name):
            return "chain name \"\(name)\" is empty or longer than \(ChainName.maxLength) bytes"
        case .tooManyMultiportPorts(let count):
            return "multiport needs \(count) slots, at most 15 fit"
        case .unknownIPSet(let name):
            return "ipset \(name) does not exist (a rule matching it needs it first)"
        case .badSetDimensions(let count):
            return "a set match looks at 1 to 6 addresses, not \(count)"
        case .invalidExtension(let name, let size):
            return "extension \"\(name)\" with \(size) data bytes cannot be encoded"
        case .entryTooLarge(let size):
            return "entry of \(size) bytes exceeds 65535"
        case .undecodedEntryAsTarget(let summary):
            return "an undecodable entry (\(summary)) is not a target"
        }
    }
}
