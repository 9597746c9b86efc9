import Foundation
import Testing
import PodNet
@testable import PodNetConfig
import PodNetTestSupport

/// The quick pod reader against `PodItemReader`, which reads (and reports) every pod it
/// gives up on: on kubectl-like pods, their variants and their mutations, a List reads
/// to the pods and messages `PodItemReader` alone gives.
@Suite struct PodItemQuickReaderTests {
    /// A pod as kubectl prints it, with a variant of each field the readers look at (most
    /// often the first, as kubectl writes it).
    static func pod(_ generator: inout SplitMix) -> String {
        func pick(_ values: [String]) -> String {
            generator.next() % 5 < 4 ? values[0] : values[Int(generator.next() % UInt64(values.count))]
        }
        let labels = pick([#"{"app": "web", "pod-template-hash": "6d4cf56db6"}"#, "{}", "null", #"{"a": "1", "a": "2"}"#,
                           #"{"a": 1}"#, #"{"caf\u00e9": "x\n"}"#, "[]"])
        let ports = pick([
            #"[{"containerPort": 8080, "name": "http", "protocol": "TCP"}, {"containerPort": 9090, "protocol": "UDP"}]"#,
            #"[{"containerPort": 53, "protocol": "SCTP"}, {"name": "noport"}]"#, "[]", "null", #"[{"containerPort": 0}]"#,
            #"[{"containerPort": 80, "protocol": "tcp"}]"#, #"[{"containerPort": 80.5}]"#, #"["x", null]"#,
        ])
        let ips = pick([#""podIP": "10.0.1.2", "podIPs": [{"ip": "10.0.1.2"}, {"ip": "fd00::2"}]"#, #""podIP": "10.0.1.3""#,
                        #""podIPs": [], "podIP": "10.0.1.4""#, #""podIPs": [{"ip": null}, {"ip": "10.0.1.5"}]"#,
                        #""podIP": "10.0.1""#, #""podIPs": [{"ip": "10.0.1.6"}, 5]"#, #""podIPs": {}"#, ""])
        let metadata = pick([#""name": "web-1", "namespace": "ns-1""#, #""name": "web-2""#, #""namespace": "ns-1", "name": null"#,
                             #""name": "web-3", "namespace": "ns-1", "name": "web-4""#, #""na\u006de": "web-5", "namespace": "ns-1""#])
        return """
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T14:01:58Z"},
                    "labels": \(labels),
                    \(metadata),
                    "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "kind": "ReplicaSet"}],
                    "uid": "af121074-00ef-8f59-4a09-5c6b9a0b2d51"
                },
                "spec": {
                    "containers": [
                        {
                            "env": [{"name": "LOG_LEVEL", "value": "info"}],
                            "image": "docker.io/library/nginx:1.27.2",
                            "name": "main",
                            "ports": \(ports),
                            "resources": {"limits": {"memory": "256Mi"}}
                        }
                    ],
                    "hostNetwork": \(pick(["false", "true", "null", "\"no\""])),
                    "nodeName": \(pick(["\"node-00001\"", "null", "7"])),
                    "tolerations": [{"effect": "NoExecute", "tolerationSeconds": 300}]
                },
                "status": {
                    "conditions": [{"lastProbeTime": null, "status": "True", "type": "Ready"}],
                    "phase": \(pick(["\"Running\"", "\"Succeeded\"", "\"Odd\"", "null", "1"])),
                    \(ips)\(ips.isEmpty ? "" : ",")
                    "qosClass": "Burstable"
                }
            }
            """
    }

    /// What a List read to: its pods (nil for no List) and messages.
    struct Reading: Equatable {
        var pods: [ClusterPod]?
        var messages: [String]
    }

    /// The List's pods and messages, as `ClusterList.read` gives them.
    static func read(_ bytes: [UInt8]) -> Reading {
        bytes.withUnsafeBufferPointer { buffer in
            var diagnostics = Diagnostics()
            let list = ClusterList.read(buffer, file: "cluster.json", &diagnostics)
            return Reading(pods: list?.cluster.pods, messages: (diagnostics.errors + diagnostics.warnings).map(\.description))
        }
    }

    /// The same, every pod read by `PodItemReader`: the List's items, all pods.
    static func readByPodItemReader(_ bytes: [UInt8]) -> Reading? {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            var diagnostics = Diagnostics()
            var pods: [ClusterPod] = []
            do throws(JSONScanner.SyntaxError) {
                guard try scanner.peekKind() == .object else { return nil }
                try scanner.beginObject()
                guard let key = try scanner.nextRawKey(), case "items" = key else { return nil }
                guard try scanner.peekKind() == .array else { return nil }
                try scanner.beginArray()
                var index = 0
                while try scanner.nextElement() {
                    guard try scanner.peekKind() == .object else { return nil }
                    var reader = PodItemReader(scanner: scanner, file: "cluster.json")
                    if let pod = try reader.pod(at: FieldPath.root.appending("items").appending(index: index)) { pods.append(pod) }
                    scanner = reader.scanner
                    diagnostics.append(reader.diagnostics)
                    index += 1
                }
                guard try scanner.nextRawKey() == nil else { return nil }
                try scanner.expectEnd()
            } catch {
                let (line, column) = scanner.position(of: error.offset)
                var syntax = Diagnostics()
                syntax.error(SourceLocation(file: "cluster.json", fieldPath: .root, line: line, column: column),
                             "JSON syntax error: \(error.message)")
                return Reading(pods: nil, messages: syntax.errors.map(\.description))
            }
            return Reading(pods: pods, messages: diagnostics.errors.map(\.description))
        }
    }

    @Test func podsReadAsPodItemReaderReadsThem() {
        var generator = SplitMix(seed: 0x90D5)
        var compared = 0, withProblems = 0, read = 0
        for round in 0..<1_500 {
            // Pods of one List, whose label sets often repeat (the readers keep them by their text).
            let pods = (0..<3).map { _ in Self.pod(&generator) }
            let original = Array(("{\"items\": [" + pods.joined(separator: ", ") + "]}").utf8)
            let inputs = [original] + (0..<3).map { _ in JSONScannerTests.mutated(original, &generator) }
            for input in inputs {
                // A mutation that changes the List's shape or an item's kind is not a reading of pods.
                guard let reference = Self.readByPodItemReader(input),
                      String(decoding: input, as: UTF8.self).components(separatedBy: #""kind": "Pod""#).count == pods.count + 1
                else { continue }
                let quick = Self.read(input)
                compared += 1
                if !reference.messages.isEmpty { withProblems += 1 }
                if reference.pods?.isEmpty == false { read += 1 }
                #expect(quick == reference, "round \(round): \(String(decoding: input, as: UTF8.self))")
            }
        }
        // Both sides are reached: pods read, and pods and Lists with problems to name.
        #expect(compared > 4_000 && withProblems > 1_000 && read > 1_000, "\(compared) \(withProblems) \(read)")
    }
}
