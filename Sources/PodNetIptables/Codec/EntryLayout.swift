import PodNet

/// Where the fields of `struct ipt_entry` (IPv4) and `struct ip6t_entry` (IPv6)
/// sit on x86_64, and the family-specific flag bits.
///
/// The codec writes these structs by bytes instead of importing the C structs, so that
/// it is pure Swift: golden-tested and fuzzed without root, libiptc or a kernel.
struct EntryLayout: Sendable {
    let family: IPFamily
    let addressLength: Int
    let source: Int, destination: Int, sourceMask: Int, destinationMask: Int
    let inInterface: Int, outInterface: Int, inInterfaceMask: Int, outInterfaceMask: Int
    let proto: Int
    /// IPv6 only: the tos byte podnet never sets.
    let tos: Int?
    let flags: Int
    let invertFlags: Int
    let nfcache: Int
    let targetOffset: Int
    let nextOffset: Int
    let comefrom: Int
    let counters: Int
    /// sizeof(ipt_entry) / sizeof(ip6t_entry): matches start here.
    let headerSize: Int
    /// Bytes the compiler pads with: they hold nothing and must stay zero.
    let padding: [Range<Int>]

    /// IPT_F_GOTO / IP6T_F_GOTO.
    let gotoFlag: UInt8
    /// IP6T_F_PROTO: without it the IPv6 kernel ignores `proto`. IPv4 has none.
    let protoFlag: UInt8?
    /// IPT_F_FRAG (`-f`, IPv4 only): not modelled, named when podnet shows such an entry.
    let fragmentFlag: UInt8?
    /// The flag bits the codec understands (fragments and tos are not modelled).
    var knownFlags: UInt8 { gotoFlag | (protoFlag ?? 0) }

    static let ipv4 = EntryLayout(
        family: .ipv4, addressLength: 4,
        source: 0, destination: 4, sourceMask: 8, destinationMask: 12,
        inInterface: 16, outInterface: 32, inInterfaceMask: 48, outInterfaceMask: 64,
        proto: 80, tos: nil, flags: 82, invertFlags: 83,
        nfcache: 84, targetOffset: 88, nextOffset: 90, comefrom: 92, counters: 96,
        headerSize: 112, padding: [],
        gotoFlag: 0x02, protoFlag: nil, fragmentFlag: 0x01)

    static let ipv6 = EntryLayout(
        family: .ipv6, addressLength: 16,
        source: 0, destination: 16, sourceMask: 32, destinationMask: 48,
        inInterface: 64, outInterface: 80, inInterfaceMask: 96, outInterfaceMask: 112,
        proto: 128, tos: 130, flags: 131, invertFlags: 132,
        nfcache: 136, targetOffset: 140, nextOffset: 142, comefrom: 144, counters: 152,
        headerSize: 168, padding: [133..<136, 148..<152],
        gotoFlag: 0x04, protoFlag: 0x01, fragmentFlag: nil)

    static func of(_ family: IPFamily) -> EntryLayout { family == .ipv4 ? ipv4 : ipv6 }
}

/// IPT_INV_* / IP6T_INV_* (the same values in both families).
enum InvertFlag {
    static let inInterface: UInt8 = 0x01
    static let outInterface: UInt8 = 0x02
    static let source: UInt8 = 0x08
    static let destination: UInt8 = 0x10
    static let proto: UInt8 = 0x40
    static let known: UInt8 = inInterface | outInterface | source | destination | proto
}

/// struct xt_entry_match / xt_entry_target: u16 size, char name[29], u8 revision.
enum ExtensionHeader {
    static let size = 32
    static let nameLength = 29
    static let revisionOffset = 31
}

/// What an extension's header holds: known before its data is written, so that an
/// entry is sized, allocated and zeroed once and each extension's data written in place.
struct ExtensionHead {
    let name: String
    let revision: UInt8
    let dataSize: Int
}

extension OpaqueExtension {
    /// A typed extension on its own, its data written by its codec into zeros of
    /// `head.dataSize` bytes (decoding compares these with the bytes it read).
    init(_ head: ExtensionHead,
         data write: (inout FieldWriter) throws(RuleEncodingError) -> Void) throws(RuleEncodingError) {
        var data = FieldWriter(zeros: head.dataSize)
        try write(&data)
        self.init(name: head.name, revision: head.revision, data: data.bytes)
    }
}

/// XT_ALIGN: extension data is padded to 8 bytes.
func xtAlign(_ size: Int) -> Int { (size + 7) & ~7 }

/// Verdicts of the standard target (-NF_x - 1, and XT_RETURN = -NF_REPEAT - 1).
enum StandardVerdict {
    static let drop: Int32 = -1
    static let accept: Int32 = -2
    static let queue: Int32 = -4
    static let `return`: Int32 = -5
    /// sizeof(struct xt_standard_target) aligned: the kernel insists on exactly this.
    static let targetSize = 40
}
