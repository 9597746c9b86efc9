import Foundation
import PodNet
import PodNetCNI
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

    @Test func aDamagedRecordIsNamed() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        try store.withLock {}
        try "{}".write(toFile: directory + "/allocations/x@eth0", atomically: false, encoding: .utf8)
        #expect { try store.all() } throws: { "\($0)".contains("x@eth0") }
    }

    @Test func tablesDigest() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = AllocationStore(directory: directory)
        try store.withLock {}
        #expect(store.tablesDigest() == nil)
        try store.recordTablesDigest("0123abcd")
        #expect(store.tablesDigest() == "0123abcd")
        try store.recordTablesDigest(nil)
        #expect(store.tablesDigest() == nil)
    }
}
