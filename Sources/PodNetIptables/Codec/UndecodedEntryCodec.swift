import PodNet

extension UndecodedEntry {
    /// An entry as libiptc handed it out, which `EntryCodec.decode` refused with
    /// `reason`. Never fails: whatever of its structure can be walked is named and
    /// put in libiptc's input form, the rest is kept as it is.
    ///
    /// The form makes two reads of one kernel rule equal and makes the bytes fit to
    /// insert again on rollback: counters, nfcache and comefrom zeroed (traffic and the
    /// kernel change them), bytes after each extension name's NUL zeroed (the kernel
    /// returns whatever its writer left there), and a standard target named by its
    /// verdict or chain with the verdict zeroed (a jump's verdict is an offset in the
    /// kernel's blob, which moves when other chains change; libiptc computes it anew).
    init(kernelBytes: [UInt8], family: IPFamily, targetName: String?, reason: EntryDecodingError) {
        let layout = EntryLayout.of(family)
        var bytes = kernelBytes
        var words: [String] = []
        if bytes.count >= layout.headerSize {
            for (offset, size) in [(layout.nfcache, 4), (layout.comefrom, 4), (layout.counters, 16)] {
                bytes.set([UInt8](zeros: size), at: offset)
            }
            if let fragment = layout.fragmentFlag, bytes[layout.flags] & fragment != 0 { words.append("-f") }
            let targetOffset = Int(bytes.host(UInt16.self, at: layout.targetOffset))
            let nextOffset = min(Int(bytes.host(UInt16.self, at: layout.nextOffset)), bytes.count)
            var offset = layout.headerSize
            while let name = Self.normalizeExtension(&bytes, at: offset, end: nextOffset) {
                let size = Int(bytes.host(UInt16.self, at: offset))
                if offset >= targetOffset {
                    words += Self.normalizeTarget(&bytes, name: name, at: offset, size: size, targetName: targetName)
                    break
                }
                words += ["-m", name]
                offset += size
            }
        }
        let shape = words.isEmpty ? "\(kernelBytes.count) bytes" : words.joined(separator: " ")
        self.init(bytes: bytes, summary: "\(shape) (\(reason))")
    }

    /// Zeroes what follows the NUL of the extension name at `offset` and returns the
    /// name; nil when no whole, aligned extension header starts there.
    private static func normalizeExtension(_ bytes: inout [UInt8], at offset: Int, end: Int) -> String? {
        guard offset + ExtensionHeader.size <= end else { return nil }
        let size = Int(bytes.host(UInt16.self, at: offset))
        let nameRange = (offset + 2)..<(offset + 2 + ExtensionHeader.nameLength)
        guard size >= ExtensionHeader.size, size % 8 == 0, offset + size <= end,
              let nul = bytes[nameRange].firstIndex(of: 0),
              let name = String(validating: bytes[nameRange.lowerBound..<nul], as: UTF8.self) else { return nil }
        for index in nul..<nameRange.upperBound { bytes[index] = 0 }
        return name
    }

    /// `-j NAME` of the target at `offset`, a standard one renamed as libiptc takes it.
    private static func normalizeTarget(_ bytes: inout [UInt8], name: String, at offset: Int, size: Int,
                                        targetName: String?) -> [String] {
        guard name.isEmpty, size == StandardVerdict.targetSize else { return ["-j", name] }
        let verdictOffset = offset + ExtensionHeader.size
        let verdict = bytes.host(Int32.self, at: verdictOffset)
        let standard: String?
        if verdict < 0 {
            standard = EntryCodec.verdicts[verdict].map { TargetCodec.head($0, family: .ipv4).name }
        } else {
            standard = targetName
        }
        guard let standard, bytes.setFixedString(standard, at: offset + 2, length: ExtensionHeader.nameLength) else {
            return ["-j", "verdict \(verdict)"]
        }
        bytes.setHost(Int32(0), at: verdictOffset)
        return standard.isEmpty ? [] : ["-j", standard]
    }
}

extension EntryCodec {
    /// The entry as a rule: decoded, or kept whole as an undecoded entry (with its
    /// counters) when podnet cannot decode it. Never fails: in podnet's own chains
    /// an entry someone else made must not stop diff, apply or teardown.
    /// A set match whose index `sets` does not name is no reason to keep the entry
    /// whole: it stays an opaque match of the decoded rule, its bytes as they were.
    static func decodeOrKeep(_ bytes: [UInt8], family: IPFamily, targetName: String?,
                             sets: IPSetIndexes = IPSetIndexes()) -> DecodedEntry {
        do {
            return try decode(bytes, family: family, targetName: targetName, sets: sets)
        } catch {
            let layout = EntryLayout.of(family)
            let counters = bytes.count < layout.headerSize ? PacketCounters.zero
                : PacketCounters(packets: bytes.host(UInt64.self, at: layout.counters),
                                 bytes: bytes.host(UInt64.self, at: layout.counters + 8))
            let entry = UndecodedEntry(kernelBytes: bytes, family: family, targetName: targetName, reason: error)
            return DecodedEntry(rule: Rule(target: .undecoded(entry)), counters: counters)
        }
    }

    /// `entry`'s bytes with `counters` in place, as `encode` gives a rule's.
    static func encode(_ entry: UndecodedEntry, family: IPFamily, counters: PacketCounters) -> [UInt8] {
        let layout = EntryLayout.of(family)
        var bytes = entry.bytes
        guard bytes.count >= layout.headerSize else { return bytes }
        bytes.setHost(counters.packets, at: layout.counters)
        bytes.setHost(counters.bytes, at: layout.counters + 8)
        return bytes
    }
}
