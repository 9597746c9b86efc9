import PodNet

/// libFuzzer target for the iptables entry decoder (built by `make fuzz` from the
/// codec's own sources, see the Makefile).
///
/// Input: one byte choosing the family (bit 0) and what libiptc would name a standard
/// target (bits 1-2: "", "PODNET-X", nothing), then the entry bytes. Decoding must
/// never trap; an entry it accepts must re-encode, and the re-encoding must equal the
/// input apart from what the codec documents it does not keep: the kernel's
/// bookkeeping (nfcache, comefrom), bytes after an extension name's NUL, and the
/// standard target, which libiptc rewrites (its name and verdict). An entry it refuses
/// is kept whole as an undecoded entry, which must not trap either and must keep the
/// entry's length (it is inserted again as it is on rollback).
@_cdecl("LLVMFuzzerTestOneInput")
public func entryDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = input.first else { return 0 }
    let family: IPFamily = selector & 1 == 0 ? .ipv4 : .ipv6
    let targetName: String? = [nil, "", "PODNET-X", nil][Int(selector >> 1) & 3]
    let entry = Array(input.dropFirst())
    guard let decoded = try? EntryCodec.decode(entry, family: family, targetName: targetName) else {
        guard case .undecoded(let kept) = EntryCodec.decodeOrKeep(entry, family: family, targetName: targetName).rule.target,
              kept.bytes.count == entry.count else {
            fatalError("a refused entry is not kept whole: \(entry)")
        }
        return 0
    }
    let encoded: [UInt8]
    do {
        encoded = try EntryCodec.encode(decoded.rule, family: family, counters: decoded.counters)
    } catch {
        fatalError("accepted entry does not re-encode: \(error)\n\(decoded.rule)")
    }
    let layout = EntryLayout.of(family)
    let targetOffset = Int(entry.host(UInt16.self, at: layout.targetOffset))
    let encodedTargetOffset = Int(encoded.host(UInt16.self, at: layout.targetOffset))
    guard targetOffset == encodedTargetOffset else {
        fatalError("target offset \(targetOffset) re-encoded as \(encodedTargetOffset)")
    }
    let standard: Bool
    switch decoded.rule.target {
    case .fallThrough, .accept, .drop, .queue, .returnFromChain, .jump, .goto: standard = true
    default: standard = false
    }
    let end = standard ? targetOffset : entry.count
    guard encoded.count == entry.count || standard,
          normalized(entry, layout: layout, end: end) == normalized(encoded, layout: layout, end: end) else {
        fatalError("re-encoding differs\n in: \(entry)\nout: \(encoded)\n\(decoded.rule)")
    }
    if let again = try? EntryCodec.decode(encoded, family: family, targetName: targetName),
       !standard, again != decoded {
        fatalError("decode(encode(x)) differs: \(again) vs \(decoded)")
    }
    return 0
}

/// The first `end` bytes with the fields the codec does not keep zeroed.
private func normalized(_ bytes: [UInt8], layout: EntryLayout, end: Int) -> [UInt8] {
    var copy = Array(bytes[0..<min(end, bytes.count)])
    for field in [layout.nfcache, layout.comefrom] where field + 4 <= copy.count {
        copy.replaceSubrange(field..<(field + 4), with: [0, 0, 0, 0])
    }
    var offset = layout.headerSize
    while offset + ExtensionHeader.size <= copy.count {
        let name = (offset + 2)..<(offset + 2 + ExtensionHeader.nameLength)
        if let nul = copy[name].firstIndex(of: 0) {
            copy.replaceSubrange(nul..<name.upperBound, with: [UInt8](zeros: name.upperBound - nul))
        }
        let size = Int(copy.host(UInt16.self, at: offset))
        guard size >= ExtensionHeader.size else { break }
        offset += size
    }
    return copy
}
