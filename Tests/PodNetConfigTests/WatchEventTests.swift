import Testing
import PodNet
import PodNetConfig
import PodNetTestSupport

/// `podnet watch`'s input: the documents of `kubectl get KIND -w --output-watch-events -o json`.
@Suite struct WatchEventTests {
    static let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"x","name":"a \"q\" }","labels":{"k":"{[","v":"\"{","w":"\\"}},"status":{"podIP":"10.244.1.9"}}"#
    /// As kubectl prints events: indented, one after another, nothing between them.
    static let stream = """
        {
            "type": "ADDED",
            "object": \(pod)
        }
        {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "12"}}}{"type":"DELETED","object":\(pod)}
        [1, 2]
        """

    @Test func framingFindsTheSameDocumentsHoweverTheStreamIsCut() throws {
        let bytes = Array(Self.stream.utf8)
        func frame(_ cuts: [Int]) -> [[UInt8]] {
            var framing = JSONStreamFraming()
            var documents: [[UInt8]] = []
            var start = 0
            for end in cuts + [bytes.count] where end >= start {
                documents += bytes[start..<end].withUnsafeBytes { framing.append($0) }
                start = end
            }
            #expect(framing.finishStream() == nil)
            return documents
        }
        let whole = frame([])
        try #require(whole.count == 4)
        #expect(whole[3] == Array("[1, 2]".utf8))
        var random = SplitMix(seed: 7)
        for _ in 0..<300 {
            let cuts = (0..<Int(random.next() % 6)).map { _ in Int(random.next() % UInt64(bytes.count)) }.sorted()
            #expect(frame(cuts) == whole, "cut at \(cuts)")
        }
        // Byte by byte too: every string, escape and nesting state crosses a chunk boundary.
        #expect(frame(Array(1..<bytes.count)) == whole)
    }

    @Test func aStreamEndingInsideADocumentHandsItOver() {
        var framing = JSONStreamFraming()
        let documents = Array(#"{"type":"ADDED"} {"type":"#.utf8).withUnsafeBytes { framing.append($0) }
        #expect(documents.count == 1)
        #expect(framing.finishStream() == Array(#"{"type":"#.utf8))
    }

    @Test func eventsNameTheirObject() throws {
        var framing = JSONStreamFraming()
        let documents = Array(Self.stream.utf8).withUnsafeBytes { framing.append($0) }
        try #require(documents.count == 4)
        guard case .event(let added) = try WatchDocument.read(documents[0], source: "s, event 1") else {
            Issue.record("not an event")
            return
        }
        #expect(added.change == .added)
        #expect(added.object.key == ObjectKey(kind: .pod, namespace: "x", name: #"a "q" }"#))
        #expect(added.object.json == Array(Self.pod.utf8))
        guard case .bookmark = try WatchDocument.read(documents[1], source: "s, event 2") else {
            Issue.record("not a bookmark")
            return
        }
        guard case .event(let deleted) = try WatchDocument.read(documents[2], source: "s, event 3") else {
            Issue.record("not an event")
            return
        }
        #expect(deleted.change == .deleted)
    }

    @Test func aListStandsForItsKinds() throws {
        let list = #"{"kind":"PodList","items":[{"metadata":{"namespace":"x","name":"b"}}]}"#
        guard case .list(let kinds, let items) = try WatchDocument.read(Array(list.utf8), source: "s") else {
            Issue.record("not a list")
            return
        }
        #expect(kinds == [.pod])
        #expect(items.map(\.key) == [ObjectKey(kind: .pod, namespace: "x", name: "b")])
    }

    @Test(arguments: [
        (#"[1, 2]"#, "not a watch event: expected an object"),
        (#"{"object": {}}"#, "not a watch event: no type"),
        (#"{"type": "CHANGED", "object": {}}"#, "unknown event type CHANGED"),
        (#"{"type": "ADDED"}"#, "a ADDED event without an object"),
        (#"{"type": "ADDED", "object": {"kind": "Service", "metadata": {"name": "s"}}}"#, "Service is not a kind podnet reads"),
        (#"{"type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": "p"}}}"#, "metadata.namespace: required"),
        (#"{"type": "ADDED", "object": {"kind": "Node", "metadata": {}}}"#, "metadata.name: required"),
        ("{\"type\": \"ADDED\",\n \"object\": {\"kind\": \"Pod\",]}", "event 4:2:27: JSON syntax error"),
        (#"{"type": "ERROR", "object": {"message": "too old resource version"}}"#, "too old resource version"),
    ])
    func badDocumentsAreNamedErrors(document: String, expected: String) {
        do {
            _ = try WatchDocument.read(Array(document.utf8), source: "events.json, event 4")
            Issue.record("accepted: \(document)")
        } catch {
            #expect(error.description.contains("events.json, event 4"), "\(error)")
            #expect(error.description.contains(expected), "\(error)")
        }
    }

    @Test func watchedObjectsMakeTheListOfTheirKinds() throws {
        var objects = WatchedObjects()
        try objects.take(list: Array(#"{"kind":"List","items":[{"kind":"Namespace","metadata":{"name":"x"}},{"kind":"Pod","metadata":{"namespace":"x","name":"b"}}]}"#.utf8),
                         source: "snapshot")
        let pod = ClusterObject(key: ObjectKey(kind: .pod, namespace: "x", name: "a"), json: Array(#"{"kind":"Pod","metadata":{"namespace":"x","name":"a"}}"#.utf8))
        #expect(objects.take(WatchEvent(change: .added, object: pod)) == nil)
        #expect(objects.take(WatchEvent(change: .deleted, object: pod)) == pod.json)
        objects.replace(kinds: [.pod], with: [pod])
        #expect(String(decoding: objects.list(of: [.pod, .namespace]), as: UTF8.self)
                == #"{"apiVersion":"v1","kind":"List","items":[{"kind":"Namespace","metadata":{"name":"x"}},{"kind":"Pod","metadata":{"namespace":"x","name":"a"}}]}"# + "\n")
    }
}
