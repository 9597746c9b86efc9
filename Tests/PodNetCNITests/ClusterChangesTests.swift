import Foundation
import PodNet
import PodNetCNI
import PodNetConfig
import Testing

/// The pod changes kept after the cluster List (`ClusterChange`): read back in order,
/// a line cut short by a killed writer left out, void once another List is kept, and
/// applied to the List's pods as a List holding them would read.
@Suite struct ClusterChangesTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-changes-\(UUID())").path
    static let config = "node:\n  name: node-a\n  podCIDRs: [10.244.1.0/24]\ncluster:\n  podCIDRs: [10.244.0.0/16]\n"

    static func pod(_ namespace: String, _ name: String, ip: String, app: String) -> String {
        // Written over several lines, as kubectl prints an object, with a newline escaped in a label.
        """
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"namespace": "\(namespace)", "name": "\(name)", "labels": {"app": "\(app)", "note": "a\\nb"}},
         "spec": {"nodeName": "node-b"}, "status": {"phase": "Running", "podIP": "\(ip)"}}
        """
    }

    static func list(_ items: [String]) -> String {
        #"{"apiVersion": "v1", "kind": "List", "items": ["# + items.joined(separator: ",\n") + "]}\n"
    }

    func change(_ namespace: String, _ name: String, _ pod: String?) -> ClusterChange {
        ClusterChange(namespace: namespace, name: name, pod: pod.map { Array($0.utf8) })
    }

    @Test func changesApplyToTheKeptListAsAListWithThemReads() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = directory + "/node.yaml"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let store = AllocationStore(directory: directory)
        let a = Self.pod("x", "a", ip: "10.244.2.1", app: "a"), b = Self.pod("x", "b", ip: "10.244.2.2", app: "b")
        try store.recordCluster(Array(Self.list([a, b]).utf8))
        // b relabelled, c added then readdressed, a gone; in two appends.
        let b2 = Self.pod("x", "b", ip: "10.244.2.2", app: "other")
        let c = Self.pod("y", "c", ip: "10.244.2.3", app: "a"), c2 = Self.pod("y", "c", ip: "10.244.2.4", app: "a")
        try store.recordClusterChanges([change("x", "b", b2), change("y", "c", c)])
        try store.recordClusterChanges([change("x", "a", nil), change("y", "c", c2)])
        #expect(store.recordedClusterChanges().map(\.name) == ["b", "c", "a", "c"])
        #expect(store.recordedClusterChanges()[2].pod == nil)

        let listPath = directory + "/expected.json"
        try Self.list([b2, c2]).write(toFile: listPath, atomically: true, encoding: .utf8)
        let expected = try ConfigLoader.load(configPath: configPath, clusterPath: listPath).cluster
        let kept = try store.recordedCluster(nodeConfigPath: configPath)
        #expect(kept.map { Set($0.pods) } == expected.map { Set($0.pods) })
        #expect(kept?.pods.first { $0.name == "b" }?.labels["note"] == "a\nb")

        // A writer killed in the middle of a line: that line is not read.
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/cluster.changes"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"namespace":"x","name":"b","pod":nu"#.utf8))
        handle.closeFile()
        #expect(store.recordedClusterChanges().count == 4)

        // Another List kept whole: the changes after the old one are void, also when they
        // were left on disk (a run killed before removing them).
        let leftover = try Data(contentsOf: URL(fileURLWithPath: directory + "/cluster.changes"))
        try store.recordCluster(Array(Self.list([a]).utf8))
        #expect(!FileManager.default.fileExists(atPath: directory + "/cluster.changes"))
        try leftover.write(to: URL(fileURLWithPath: directory + "/cluster.changes"))
        #expect(store.recordedClusterChanges().isEmpty)
        #expect(try store.recordedCluster(nodeConfigPath: configPath)?.pods.map(\.name) == ["a"])
        // The next change starts the new List's own.
        try store.recordClusterChanges([change("x", "a", nil)])
        #expect(store.recordedClusterChanges().map(\.name) == ["a"])
        #expect(try store.recordedCluster(nodeConfigPath: configPath)?.pods.isEmpty == true)

        // Without a kept List there is nothing for changes to follow.
        try store.recordCluster(nil)
        try store.recordClusterChanges([change("x", "a", a)])
        #expect(store.recordedClusterChanges().isEmpty && store.recordedClusterList == nil)
    }
}
