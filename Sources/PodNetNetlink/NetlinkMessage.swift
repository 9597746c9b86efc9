/// One netlink message as it travels: a 16-byte nlmsghdr and its payload, in host
/// byte order. Builders produce these with sequence 0; the session numbers them.
public struct NetlinkMessage: Sendable, Hashable {
    /// The message's bytes; a message split from a received datagram shares its storage
    /// (a dump of 40,000 routes is read without a copy per route).
    private(set) var storage: ArraySlice<UInt8>

    static let headerSize = 16

    init(bytes: [UInt8]) {
        self.init(storage: bytes[...])
    }

    private init(storage: ArraySlice<UInt8>) {
        precondition(storage.count >= NetlinkMessage.headerSize, "a netlink message has a 16-byte header")
        self.storage = storage
    }

    public var bytes: [UInt8] { Array(storage) }
    public var type: UInt16 { storage.load(UInt16.self, at: 4) }
    public var flags: UInt16 {
        get { storage.load(UInt16.self, at: 6) }
        set { storage.store(newValue, at: 6) }
    }
    public var sequence: UInt32 {
        get { storage.load(UInt32.self, at: 8) }
        set { storage.store(newValue, at: 8) }
    }

    /// What follows the header (the fixed family header, then attributes).
    var payload: ArraySlice<UInt8> { storage.dropFirst(NetlinkMessage.headerSize) }

    /// Splits one datagram from the kernel into its messages.
    static func split(datagram: [UInt8]) throws(NetlinkError) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset + headerSize <= datagram.count {
            let length = Int(datagram.load(UInt32.self, at: offset))
            guard length >= headerSize, offset + length <= datagram.count else {
                throw .malformed("message length \(length) at offset \(offset) of a \(datagram.count)-byte datagram")
            }
            messages.append(NetlinkMessage(storage: datagram[offset..<offset + length]))
            offset += netlinkAligned(length)
        }
        return messages
    }
}

/// NLMSG_ALIGN / NLA_ALIGN (C macros Swift cannot import): round up to 4 bytes.
func netlinkAligned(_ length: Int) -> Int { (length + 3) & ~3 }

extension Array where Element == UInt8 {
    /// A host-order integer at `offset` (netlink headers are in host byte order).
    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: T.self) }
    }
}

extension ArraySlice where Element == UInt8 {
    /// A host-order integer at `offset` from the start of the slice.
    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: T.self) }
    }
}
