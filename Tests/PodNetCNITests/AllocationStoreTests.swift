import Foundation
import PodNet
import PodNetCNI
import PodNetDataplane
import Testing

@Suite struct AllocationStoreTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-store-\(UUID())").path

    private func allocation(_ id: String, _ address: String) -> Allocation {
        Allocation(id: AttachmentID(containerID: id, ifname: "eth0"), netns: "/run/netns/\(id)",
                   addresses: [IPAddress(address)!])
    }

    @Test func writesReadsAndRemovesRecords() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        #expect(try store.all().isEmpty)
        try store.withLock {
            try store.write(allocation("b", "10.0.0.3"))
            try store.write(allocation("a", "10.0.0.2"))
        }
        #expect(try store.all().map(\.id.containerID) == ["a", "b"])
        #expect(try store.find(AttachmentID(containerID: "b", ifname: "eth0"))?.addresses == [IPAddress("10.0.0.3")!])
        try store.remove(AttachmentID(containerID: "a", ifname: "eth0"))
        try store.remove(AttachmentID(containerID: "a", ifname: "eth0"))
        #expect(try store.all().map(\.id.containerID) == ["b"])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/allocations")
        #expect(names == ["b@eth0"])
    }

    /// The readers' lock (apply, teardown, watch) holds the store's lock when the store
    /// exists and makes nothing when it does not: a store removed while `podnet watch`
    /// runs is not made again under the removal (which then failed, as `rm -r` would).
    @Test func theReadersLockMakesNoStore() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory, lockWait: .milliseconds(1))
        var ran = false
        try store.withLockIfPresent { ran = true }
        #expect(ran)
        #expect(!FileManager.default.fileExists(atPath: directory), "no store made")

        try store.withLock {}
        let other = AllocationStore(directory: directory, lockWait: .milliseconds(1))
        try store.withLockIfPresent {
            #expect(throws: AllocationStore.Failure.self, "the lock is held") { try other.withLock {} }
        }
        try FileManager.default.removeItem(atPath: directory + "/lock")
        ran = false
        try store.withLockIfPresent { ran = true }
        #expect(ran)
        #expect(!FileManager.default.fileExists(atPath: directory + "/lock"), "no lock file made")
    }

    @Test func aTemporaryFileLeftByAKilledRunIsNoAllocationAndIsSwept() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        try store.withLock { try store.write(allocation("a", "10.0.0.2")) }
        let leftover = directory + "/allocations/b@eth0.tmp"
        try #"{"containerID":"b","ifn"#.write(toFile: leftover, atomically: false, encoding: .utf8)
        #expect(try store.all().map(\.id.containerID) == ["a"])
        try store.withLock {}
        #expect(!FileManager.default.fileExists(atPath: leftover))
    }

    /// The node record and the cluster List are replaced through `NAME.PID.tmp`: a killed
    /// writer's file goes at the next locked request, a live writer's stays.
    @Test func aTemporaryNodeRecordOfAProcessThatIsGoneIsSwept() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        try store.withLock {}
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let gone = directory + "/cluster.json.\(ended.processIdentifier).tmp"
        let live = directory + "/node.\(getpid()).tmp"
        for path in [gone, live] { #expect(FileManager.default.createFile(atPath: path, contents: Data("{".utf8))) }
        try store.withLock {}
        #expect(!FileManager.default.fileExists(atPath: gone))
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test func aDamagedRecordIsNamed() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        try store.withLock {}
        try "{}".write(toFile: directory + "/allocations/x@eth0", atomically: false, encoding: .utf8)
        #expect { try store.all() } throws: { "\($0)".contains("x@eth0") }
    }

    /// A power loss can leave a record renamed into place whose data never reached the
    /// disk (records are not fsynced): its pod is gone with the power, so it holds nothing.
    @Test func aRecordAPowerLossLeftEmptyHoldsNoAddressAndIsRemoved() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        try store.withLock { try store.write(allocation("a", "10.0.0.2")) }
        #expect(FileManager.default.createFile(atPath: directory + "/allocations/b@eth0", contents: Data()))
        #expect(FileManager.default.createFile(atPath: directory + "/allocations/c@eth0", contents: Data(count: 4096)))
        #expect(try store.all().map(\.id.containerID) == ["a"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/allocations") == ["a@eth0"])
    }

    @Test func nodeStamp() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        try store.withLock {}
        #expect(store.nodeStamp() == nil)
        let stamp = NodeStamp(bootID: "7527f3aa-e57d-4f06-bda4-8faf630568c5", namespaceCookie: 4096, bridgeIndex: 7,
                              stateDigest: "0123abcd")
        try store.recordNodeStamp(stamp)
        #expect(store.nodeStamp() == stamp)
        try "boot x\nnetns 1\n".write(toFile: directory + "/node", atomically: false, encoding: .utf8)
        #expect(store.nodeStamp() == nil, "a partial record says nothing of the node")
        try store.recordNodeStamp(nil)
        #expect(store.nodeStamp() == nil)
    }
}
