#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CIPTC
import PodNet
import Synchronization

/// A failed libiptc call: the function, its errno and libiptc's own text for it.
struct LibiptcError: Error, Sendable, Hashable {
    let call: String
    let errno: Int32
    /// iptc_strerror: libiptc's reading of errno for the call that failed.
    let message: String
}

/// libiptc keeps global state (and reports through errno): every call in the
/// process goes through this one lock, held for a whole init..free.
let libiptcLock = Mutex(())

/// One libiptc handle: a table of one family, copied into memory by `iptc_init` /
/// `ip6tc_init`, edited in memory and written back by one commit.
///
/// This is the only place that calls libiptc or libip6tc. Each C function is wrapped
/// once here, dispatching on the family; entries cross this boundary as bytes.
/// Callers hold `libiptcLock` for the handle's whole life.
final class LibiptcHandle {
    let family: IPFamily
    let table: TableName
    private var handle: OpaquePointer?
    private let layout: EntryLayout

    init(family: IPFamily, table: TableName) throws(LibiptcError) {
        self.family = family
        self.table = table
        layout = EntryLayout.of(family)
        errno = 0
        handle = family == .ipv4 ? iptc_init(table.rawValue) : ip6tc_init(table.rawValue)
        guard handle != nil else { throw LibiptcHandle.error("init", family: family) }
    }

    deinit {
        guard let handle else { return }
        if family == .ipv4 { iptc_free(handle) } else { ip6tc_free(handle) }
    }

    private static func error(_ call: String, family: IPFamily) -> LibiptcError {
        let code = errno
        let text = family == .ipv4 ? iptc_strerror(code) : ip6tc_strerror(code)
        return LibiptcError(call: (family == .ipv4 ? "iptc_" : "ip6tc_") + call, errno: code,
                            message: text.map { String(cString: $0) } ?? String(cString: strerror(code)))
    }

    private func check(_ result: Int32, _ call: String) throws(LibiptcError) {
        if result == 0 { throw LibiptcHandle.error(call, family: family) }
    }

    // MARK: reading

    /// Every chain: built-ins first in hook order, then user chains in strcmp order.
    func chainNames() -> [String] {
        var names: [String] = []
        var next = family == .ipv4 ? iptc_first_chain(handle) : ip6tc_first_chain(handle)
        while let name = next {
            names.append(String(cString: name))
            next = family == .ipv4 ? iptc_next_chain(handle) : ip6tc_next_chain(handle)
        }
        return names
    }

    func isBuiltin(_ chain: String) -> Bool {
        (family == .ipv4 ? iptc_builtin(chain, handle) : ip6tc_builtin(chain, handle)) != 0
    }

    /// A built-in chain's policy name and counters.
    func policy(_ chain: String) throws(LibiptcError) -> (name: String, counters: PacketCounters) {
        var counters = xt_counters()
        errno = 0
        let name = family == .ipv4 ? iptc_get_policy(chain, &counters, handle)
                                   : ip6tc_get_policy(chain, &counters, handle)
        guard let name else { throw LibiptcHandle.error("get_policy", family: family) }
        return (String(cString: name), PacketCounters(packets: counters.pcnt, bytes: counters.bcnt))
    }

    /// One rule as libiptc holds it.
    struct RawRule {
        let bytes: [UInt8]
        /// iptc_get_target's answer, kept only for standard targets (name "" in the
        /// bytes), whose verdict alone cannot say which chain a jump goes to.
        let standardTargetName: String?
    }

    /// The chain's rules in order, as bytes; `body` sees each one and may stop early
    /// by returning false.
    func forEachRule<E: Error>(in chain: String, _ body: (RawRule) throws(E) -> Bool) throws(E) {
        var entry = firstRule(chain)
        while let current = entry {
            let length = Int(current.loadUnaligned(fromByteOffset: layout.nextOffset, as: UInt16.self))
            let bytes = Array(UnsafeRawBufferPointer(start: current, count: length))
            let targetOffset = Int(current.loadUnaligned(fromByteOffset: layout.targetOffset, as: UInt16.self))
            let isStandard = targetOffset + ExtensionHeader.size <= length && bytes[targetOffset + 2] == 0
            let name = isStandard ? targetName(current) : nil
            guard try body(RawRule(bytes: bytes, standardTargetName: name)) else { return }
            entry = nextRule(current)
        }
    }

    /// The rule at a 0-based index, or nil past the end.
    func rule(in chain: String, at index: Int) -> RawRule? {
        var found: RawRule?, position = 0
        forEachRule(in: chain) { rule in
            if position == index { found = rule }
            position += 1
            return found == nil
        }
        return found
    }

    private func firstRule(_ chain: String) -> UnsafeRawPointer? {
        family == .ipv4 ? UnsafeRawPointer(iptc_first_rule(chain, handle))
                        : UnsafeRawPointer(ip6tc_first_rule(chain, handle))
    }

    private func nextRule(_ previous: UnsafeRawPointer) -> UnsafeRawPointer? {
        family == .ipv4 ? UnsafeRawPointer(iptc_next_rule(previous.assumingMemoryBound(to: ipt_entry.self), handle))
                        : UnsafeRawPointer(ip6tc_next_rule(previous.assumingMemoryBound(to: ip6t_entry.self), handle))
    }

    private func targetName(_ entry: UnsafeRawPointer) -> String? {
        let name = family == .ipv4 ? iptc_get_target(entry.assumingMemoryBound(to: ipt_entry.self), handle)
                                   : ip6tc_get_target(entry.assumingMemoryBound(to: ip6t_entry.self), handle)
        return name.map { String(cString: $0) }
    }

    // MARK: editing (in memory until commit)
    // Chain names go to C through withCString (see withEntry): the editing calls run
    // once per operation, thousands of times in a plan.

    func createChain(_ chain: String) throws(LibiptcError) {
        try check(chain.withCString {
            family == .ipv4 ? iptc_create_chain($0, handle) : ip6tc_create_chain($0, handle)
        }, "create_chain")
    }

    func deleteChain(_ chain: String) throws(LibiptcError) {
        try check(chain.withCString {
            family == .ipv4 ? iptc_delete_chain($0, handle) : ip6tc_delete_chain($0, handle)
        }, "delete_chain")
    }

    func flush(_ chain: String) throws(LibiptcError) {
        try check(chain.withCString {
            family == .ipv4 ? iptc_flush_entries($0, handle) : ip6tc_flush_entries($0, handle)
        }, "flush_entries")
    }

    /// Inserts at a 0-based index (the chain's length appends).
    func insert(_ entry: [UInt8], in chain: String, at index: Int) throws(LibiptcError) {
        try check(withEntry(entry, chain) { ipv4, ipv6, name in
            ipv4.map { iptc_insert_entry(name, $0, UInt32(index), handle) }
                ?? ip6tc_insert_entry(name, ipv6!, UInt32(index), handle)
        }, "insert_entry")
    }

    /// Replaces the rule at a 0-based index.
    func replace(_ entry: [UInt8], in chain: String, at index: Int) throws(LibiptcError) {
        try check(withEntry(entry, chain) { ipv4, ipv6, name in
            ipv4.map { iptc_replace_entry(name, $0, UInt32(index), handle) }
                ?? ip6tc_replace_entry(name, ipv6!, UInt32(index), handle)
        }, "replace_entry")
    }

    func append(_ entry: [UInt8], in chain: String) throws(LibiptcError) {
        try check(withEntry(entry, chain) { ipv4, ipv6, name in
            ipv4.map { iptc_append_entry(name, $0, handle) } ?? ip6tc_append_entry(name, ipv6!, handle)
        }, "append_entry")
    }

    /// Deletes the rule at a 0-based index.
    func delete(in chain: String, at index: Int) throws(LibiptcError) {
        try check(chain.withCString {
            family == .ipv4 ? iptc_delete_num_entry($0, UInt32(index), handle)
                            : ip6tc_delete_num_entry($0, UInt32(index), handle)
        }, "delete_num_entry")
    }

    /// Sets a built-in chain's policy and the counters the commit gives it.
    func setPolicy(_ chain: String, _ policy: String, counters: PacketCounters) throws(LibiptcError) {
        var raw = xt_counters(pcnt: counters.packets, bcnt: counters.bytes)
        errno = 0
        try check(family == .ipv4 ? iptc_set_policy(chain, policy, &raw, handle)
                                  : ip6tc_set_policy(chain, policy, &raw, handle), "set_policy")
    }

    /// Writes the table back (IPT_SO_SET_REPLACE, then the counters). The handle
    /// cannot be committed twice.
    func commit() throws(LibiptcError) {
        errno = 0
        try check(family == .ipv4 ? iptc_commit(handle) : ip6tc_commit(handle), "commit")
    }

    /// libiptc copies the entry it is given; the bytes only need to live for the call.
    /// The chain goes through withCString, which lends a native string's bytes: the
    /// implicit String-to-pointer conversion copies the name into a fresh array per call.
    private func withEntry(_ entry: [UInt8], _ chain: String,
                           _ body: (UnsafePointer<ipt_entry>?, UnsafePointer<ip6t_entry>?,
                                    UnsafePointer<CChar>) -> Int32) -> Int32 {
        errno = 0
        return chain.withCString { name in
            entry.withUnsafeBytes { raw in
                family == .ipv4 ? body(raw.baseAddress!.assumingMemoryBound(to: ipt_entry.self), nil, name)
                                : body(nil, raw.baseAddress!.assumingMemoryBound(to: ip6t_entry.self), name)
            }
        }
    }
}
