import Foundation
import Testing
import PodNet
@testable import PodNetConfig
import PodNetTestSupport

/// The second reader of a big List (`PodReadAhead`): started anywhere, the List reads to
/// what one reader alone reads (pods, namespaces, policies, nodes, every message with its
/// line and item index), and at an item's first byte it is taken.
@Suite struct PodReadAheadTests {
    /// What a List read to, everything compared.
    struct Reading: Equatable, CustomStringConvertible {
        var pods: [ClusterPod]?
        var namespaces: [String]
        var policies: Int
        var nodes: [String]
        var messages: [String]
        var description: String { "\(pods?.count ?? -1) pods, \(namespaces), \(policies) policies, \(nodes), \(messages)" }
    }

    /// The List read with the second reader started at `offset` (0: never started), and
    /// the pods it gave.
    static func read(_ bytes: [UInt8], readAheadAt offset: Int) -> (Reading, readAhead: Int) {
        bytes.withUnsafeBufferPointer { buffer in
            var diagnostics = Diagnostics()
            var readAhead = 0
            let list = ClusterList.read(buffer, file: "cluster.json", readAheadAt: offset, readAhead: &readAhead, &diagnostics)
            let reading = Reading(pods: list?.cluster.pods, namespaces: list?.cluster.namespaces.map(\.name) ?? [],
                                  policies: list?.cluster.policies.count ?? 0,
                                  nodes: list?.nodes.items.map { "\($0.name?.value ?? "-") \($0.location)" } ?? [],
                                  messages: (diagnostics.errors + diagnostics.warnings).map(\.description))
            return (reading, readAhead)
        }
    }

    static let namespace = #"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-1", "labels": {"team": "a"}}}"#
    static let policy = #"{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "ns-1"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}"#
    static let badPolicy = #"{"kind": "NetworkPolicy", "metadata": {"name": "bad", "namespace": "ns-1"}, "spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}}"#
    static let node = #"{"kind": "Node", "metadata": {"name": "node-7"}, "spec": {"podCIDR": "10.9.0.0/24"}}"#

    /// A List laid out as kubectl prints it (items four spaces in), pods of every variant
    /// (some with problems) among other kinds of item, and where each item starts.
    /// With `clean`, only pods without a problem and no other items, as most of a
    /// cluster's List is.
    static func list(_ generator: inout SplitMix, pods: Int, clean: Bool = false) -> (bytes: [UInt8], itemStarts: [Int]) {
        var items: [String] = []
        for index in 0..<pods {
            var pod = PodItemQuickReaderTests.pod(&generator)
            while clean, !PodItemQuickReaderTests.read(Array(("{\"items\": [" + pod + "]}").utf8)).messages.isEmpty {
                pod = PodItemQuickReaderTests.pod(&generator)
            }
            items.append(pod)
            if clean { continue }
            switch index % 7 {
            case 2: items.append(namespace)
            case 4: items.append(generator.next() % 2 == 0 ? policy : badPolicy)
            case 5: items.append(node)
            default: break
            }
        }
        var text = "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n"
        var starts: [Int] = []
        for (index, item) in items.enumerated() {
            text += "        "
            starts.append(text.utf8.count)
            // The generated pods are indented by four: items are at eight here, their members deeper.
            text += item.replacingOccurrences(of: "\n", with: "\n    ") + (index == items.count - 1 ? "\n" : ",\n")
        }
        text += "    ],\n    \"kind\": \"List\"\n}\n"
        return (Array(text.utf8), starts)
    }

    @Test func readsAsOneReaderWhereverTheSecondStarts() {
        var generator = SplitMix(seed: 0x5EC0)
        var taken = 0, offsets = 0
        for _ in 0..<6 {
            let (bytes, starts) = Self.list(&generator, pods: 12)
            let (alone, unused) = Self.read(bytes, readAheadAt: 0)
            #expect(unused == 0)
            #expect(alone.pods?.isEmpty == false && !alone.messages.isEmpty, "\(alone)")
            // Every item's first byte, the bytes around it, and bytes anywhere (inside
            // strings, keys, numbers, between tokens).
            var candidates = Set(starts.flatMap { [$0 - 2, $0 - 1, $0, $0 + 1] })
            for _ in 0..<150 { candidates.insert(Int(generator.next() % UInt64(bytes.count))) }
            for offset in candidates.sorted() where offset > 0 {
                let (reading, readAhead) = Self.read(bytes, readAheadAt: offset)
                offsets += 1
                #expect(reading == alone, "second reader at \(offset)")
                if readAhead > 0 {
                    taken += 1
                    #expect(starts.contains(offset), "pods taken from a reader that started at \(offset), inside an item")
                }
            }
        }
        // The second reader's pods are taken (and so compared) at many item starts.
        #expect(taken > 20 && offsets > 1_000, "\(taken) of \(offsets)")
    }

    /// A syntax error past the second reader's start is reported where it is, as one
    /// reader reports it, and so is a List whose items array ends before that start.
    @Test func syntaxErrorsAndShortArraysAreOneReadersToo() {
        var generator = SplitMix(seed: 0xBAD)
        let (bytes, starts) = Self.list(&generator, pods: 10)
        // The comma before the last item but one, and the array's closing bracket.
        for cut in [starts[starts.count - 2] - 10, bytes.lastIndex(of: UInt8(ascii: "]"))!] {
            var broken = bytes
            broken[cut] = UInt8(ascii: "#")
            let (alone, _) = Self.read(broken, readAheadAt: 0)
            #expect(alone.messages.count == 1 && alone.messages[0].contains("JSON syntax error"), "\(alone)")
            for offset in starts.dropFirst() {
                #expect(Self.read(broken, readAheadAt: offset).0 == alone, "second reader at \(offset), error at \(cut)")
            }
        }
        let short = Array((#"{"items": [{"kind": "Namespace", "metadata": {"name": "a"}}], "#
            + #""more": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}}]}"#).utf8)
        let start = String(decoding: short, as: UTF8.self).utf8.count
            - String(String(decoding: short, as: UTF8.self).split(separator: "[").last!).utf8.count
        let (alone, _) = Self.read(short, readAheadAt: 0)
        let (reading, readAhead) = Self.read(short, readAheadAt: start)
        #expect(reading == alone && readAhead == 0 && alone.pods == [], "\(reading)")
    }

    static func guess(_ bytes: [UInt8], firstItem: Int) -> Int? {
        bytes.withUnsafeBufferPointer { PodReadAhead.guess($0, firstItem: firstItem) }
    }

    /// On a List of kubectl's layout above the size for a second reader, the guess is an
    /// item's first byte past the middle, and the read takes it.
    @Test func theGuessIsAnItemStartPastTheMiddle() {
        var generator = SplitMix(seed: 0x61E5)
        let (bytes, starts) = Self.list(&generator, pods: 3_500, clean: true)
        #expect(bytes.count > PodReadAhead.minimumBytes)
        let first = starts[0]
        guard let guess = Self.guess(bytes, firstItem: first) else {
            Issue.record("no guess in \(bytes.count) bytes")
            return
        }
        #expect(guess >= first + (bytes.count - first) / 2 && starts.contains(guess))
        let (alone, _) = Self.read(bytes, readAheadAt: 0)
        let (reading, readAhead) = Self.read(bytes, readAheadAt: guess)
        #expect(readAhead > 1_000 && reading == alone, "\(readAhead)")
        // Below the size, or in a List on one line, there is no guess.
        let (small, smallStarts) = Self.list(&generator, pods: 20)
        #expect(Self.guess(small, firstItem: smallStarts[0]) == nil)
        let compact = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\n", with: " ").utf8)
        let compactFirst = compact[compact.firstIndex(of: UInt8(ascii: "["))!...].firstIndex(of: UInt8(ascii: "{"))!
        #expect(Self.guess(compact, firstItem: compactFirst) == nil)
    }
}
