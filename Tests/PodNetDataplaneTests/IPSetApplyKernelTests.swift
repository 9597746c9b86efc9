import Foundation
import Synchronization
import Testing
import PodNet
import PodNetNetlink
import PodNetTestSupport
@testable import PodNetDataplane

/// ipsets as owned kernel objects: applied, changed in place, rewritten by a swap,
/// undone on failure and removed by teardown, with `ipset save` as the oracle and a
/// foreign set beside them that nothing touches.
@Suite(.serialized) struct IPSetApplyKernelTests {
    static func host(_ text: String) -> IPSetEntry { IPSetEntry(host: IPAddress(text)!) }

    static func sets(pods: [String], blocks: [IPSetEntry]) -> [IPSetState] {
        [IPSetState(name: "PODNET-PODS4", type: .hashIP, family: .ipv4, entries: Set(pods.map(host))),
         IPSetState(name: "PODNET-BLOCK6", type: .hashNet, family: .ipv6, entries: Set(blocks))]
    }

    static let blocks = [IPSetEntry(try! IPNetwork(parsing: "fd00::/48")),
                         IPSetEntry(try! IPNetwork(parsing: "fd00:0:0:1::/64"), nomatch: true)]

    /// `ipset save` with the kernel's header details (hashsize, initval, ...) cut.
    static func saved(_ lab: NodeLab) throws -> String {
        try lab.node.run(["ipset", "save"]).split(separator: "\n").map { line in
            line.hasPrefix("create ") ? line.split(separator: " ").prefix(5).joined(separator: " ") : String(line)
        }.sorted().joined(separator: "\n")
    }

    func state(_ sets: [IPSetState]) throws -> (ownership: Ownership, desired: DesiredState) {
        let (config, compiled) = try desiredState(nodeConfig(peers: 1))
        var desired = compiled
        desired.ipsets = sets
        return (Ownership(config), desired)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func appliedChangedInPlaceRewrittenAndTornDown() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        try lab.node.run(["ipset", "create", "KUBE-FOREIGN", "hash:ip"])
        try lab.node.run(["ipset", "add", "KUBE-FOREIGN", "192.0.2.1"])

        let (ownership, first) = try state(Self.sets(pods: ["10.244.1.3", "10.244.2.7", "10.244.1.20", "10.244.1.21"],
                                                              blocks: Self.blocks))
        let applied = try lab.dataplane.apply(first, ownership: ownership)
        #expect(applied.executed.ipsets.count == 8)
        #expect(try Self.saved(lab) == """
            add KUBE-FOREIGN 192.0.2.1
            add PODNET-BLOCK6 fd00:0:0:1::/64 nomatch
            add PODNET-BLOCK6 fd00::/48
            add PODNET-PODS4 10.244.1.20
            add PODNET-PODS4 10.244.1.21
            add PODNET-PODS4 10.244.1.3
            add PODNET-PODS4 10.244.2.7
            create KUBE-FOREIGN hash:ip family inet
            create PODNET-BLOCK6 hash:net family inet6
            create PODNET-PODS4 hash:ip family inet
            """)
        #expect(try lab.dataplane.plan(first, ownership: ownership).isEmpty)

        // One pod comes, one goes: two member changes and nothing else, no table commit.
        let (_, second) = try state(Self.sets(pods: ["10.244.1.3", "10.244.1.9", "10.244.1.20", "10.244.1.21"],
                                                blocks: Self.blocks))
        let plan = try lab.dataplane.plan(second, ownership: ownership)
        #expect(plan.ipsets.map(\.commandText) == ["ipset add PODNET-PODS4 10.244.1.9", "ipset del PODNET-PODS4 10.244.2.7"])
        #expect(plan.operationCount == 2)
        let changed = try lab.dataplane.apply(second, ownership: ownership)
        #expect(changed.executed.tables.isEmpty && changed.executed.ipsets == plan.ipsets)
        #expect(try lab.node.run(["ipset", "list", "PODNET-PODS4"]).contains("10.244.1.9"))

        // Nearly every member different: filled aside and swapped in.
        let (_, third) = try state(Self.sets(pods: ["10.244.5.1"], blocks: Self.blocks))
        let rewritten = try lab.dataplane.apply(third, ownership: ownership)
        #expect(rewritten.executed.ipsets.contains(.swap(IPSetState.temporaryName(for: "PODNET-PODS4"), "PODNET-PODS4")))
        #expect(try Self.saved(lab).contains("add PODNET-PODS4 10.244.5.1\ncreate KUBE-FOREIGN"))
        #expect(try !lab.node.run(["ipset", "list", "-n"]).contains("PODNET-TMP-"))

        // A set no longer wanted goes; the foreign one stays.
        let (_, fourth) = try state([Self.sets(pods: ["10.244.5.1"], blocks: [])[0]])
        _ = try lab.dataplane.apply(fourth, ownership: ownership)
        #expect(try lab.node.run(["ipset", "list", "-n"]).split(separator: "\n").sorted() == ["KUBE-FOREIGN", "PODNET-PODS4"])

        let teardown = try lab.dataplane.teardownPlan(ownership: ownership)
        #expect(teardown.ipsets.map(\.commandText) == ["ipset destroy PODNET-PODS4"])
        _ = try lab.dataplane.teardown(ownership: ownership)
        #expect(try Self.saved(lab) == "add KUBE-FOREIGN 192.0.2.1\ncreate KUBE-FOREIGN hash:ip family inet")
        #expect(try lab.dataplane.teardownPlan(ownership: ownership).isEmpty)
    }

    /// The kernel refusing each netlink write of an apply that creates, changes,
    /// rewrites and destroys sets in turn (`RefusingKernel`, as strace's injection does
    /// to the CLI, which has no sets to apply yet) leaves the sets exactly as they were.
    @Test(.enabled(if: KernelTest.enabled))
    func failureAtEveryWriteLeavesTheSetsAsTheyWere() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        try lab.node.run(["ipset", "create", "KUBE-FOREIGN", "hash:ip"])
        let (ownership, before) = try state(Self.sets(pods: ["10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6"],
                                                      blocks: Self.blocks)
                                            + [IPSetState(name: "PODNET-STALE", type: .hashIP, family: .ipv4,
                                                          entries: [Self.host("10.244.1.8")])])
        _ = try lab.dataplane.apply(before, ownership: ownership)
        let original = try Self.saved(lab)
        let (_, after) = try state(Self.sets(pods: ["10.244.7.7"], blocks: [Self.blocks[0]])
                                   + [IPSetState(name: "PODNET-NEW", type: .hashIP, family: .ipv4,
                                                 entries: [Self.host("10.244.1.10"), Self.host("10.244.1.11")])])
        let plan = try lab.dataplane.plan(after, ownership: ownership)
        #expect(plan.ipsets.contains { if case .swap = $0 { true } else { false } })
        var failures = 0
        for write in 1...30 {
            var dataplane = lab.dataplane
            let writes = WriteCount()
            dataplane.sessions = NetlinkSessions(transport: { RefusingKernel($0, refusing: write, of: writes) })
            do {
                _ = try dataplane.apply(after, ownership: ownership)
                break
            } catch let failure as ApplyFailure {
                failures += 1
                #expect(failure.rollbackFailures.isEmpty, "write \(write): \(failure)")
                #expect(try Self.saved(lab) == original, "write \(write): the sets differ after the rollback")
            }
        }
        #expect(failures >= 6, "the plan has at least six ipset writes")
        #expect(try lab.dataplane.plan(after, ownership: ownership).isEmpty)
    }
}

/// The write requests the sockets of one apply have sent.
final class WriteCount: Sendable {
    let sent = Atomic(0)
}

/// The kernel's socket, with the `refusing`th write request (one asking for an
/// acknowledgement, as every write of podnet's does, and no dump) of all the sockets sharing
/// `writes` failing at its send with EPERM, as `strace -e inject=sendto:error=EPERM`
/// makes it fail: the kernel never sees it.
final class RefusingKernel: NetlinkTransport {
    private let socket: NetlinkSocket
    private let refused: Int
    private let writes: WriteCount

    init(_ socket: NetlinkSocket, refusing refused: Int, of writes: WriteCount) {
        self.socket = socket
        self.refused = refused
        self.writes = writes
    }

    func send(_ datagram: [UInt8]) throws(NetlinkError) {
        // nlmsg_flags of the first message: NLM_F_ACK (0x04) without NLM_F_DUMP (0x300).
        let flags = datagram.count >= 16 ? UInt16(datagram[6]) | UInt16(datagram[7]) << 8 : 0
        if flags & 0x04 != 0, flags & 0x300 != 0x300,
           writes.sent.add(1, ordering: .sequentiallyConsistent).newValue == refused {
            throw .system(call: "sendto", errno: EPERM)
        }
        try socket.send(datagram)
    }

    func receive() throws(NetlinkError) -> [UInt8] { try socket.receive() }
    func receiveQueued() throws(NetlinkError) -> [UInt8]? { try socket.receiveQueued() }
}
