#if canImport(Glibc)
import Glibc
#endif
import PodNetConfig

/// The --events streams of `podnet watch`, read as their bytes arrive (poll, no thread
/// per stream) and cut into documents. A batch is every document that has arrived by
/// the time no stream has more to give at once: the burst of ADDED events kubectl
/// prints when it starts, or a pod's few events, is applied once, not once per event.
struct EventStreams {
    struct Document {
        /// "FILE, event N": where a message about the document points.
        var source: String
        var bytes: [UInt8]
    }

    private struct Stream {
        var path: String
        var descriptor: Int32
        var framing = JSONStreamFraming()
        var documents = 0

        var name: String { path == ConfigLoader.standardInputPath ? "<stdin>" : path }

        mutating func document(_ bytes: [UInt8]) -> Document {
            documents += 1
            return Document(source: "\(name), event \(documents)", bytes: bytes)
        }
    }

    /// What came in one batch: documents, and whether the CNI store changed.
    struct Batch {
        var documents: [Document] = []
        var attachmentsChanged = false

        var isEmpty: Bool { documents.isEmpty && !attachmentsChanged }
    }

    private var streams: [Stream] = []
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    /// The CNI store, polled beside the streams (it never ends them).
    private var store: StoreWatch?

    init(paths: [String], store: StoreWatch? = nil) throws {
        self.store = store
        for path in paths {
            let descriptor = path == ConfigLoader.standardInputPath ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                Diagnostics.error("\(path): cannot open the event stream: \(String(cString: strerror(errno)))")
                throw ExitStatus.invalidInput
            }
            streams.append(Stream(path: path, descriptor: descriptor))
        }
    }

    /// The next batch; empty when no document came within `wait` (nil: wait for one);
    /// nil once every stream has ended and everything was handed out.
    mutating func nextBatch(waitingAtMost wait: Duration? = nil) -> Batch? {
        var batch = Batch()
        let clock = ContinuousClock()
        let deadline = wait.map { clock.now + $0 }
        while !streams.isEmpty {
            var descriptors = streams.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            if let store { descriptors.append(pollfd(fd: store.descriptor, events: Int16(POLLIN), revents: 0)) }
            // Block for the first document (until the deadline); then take only what is there already.
            var timeout: Int32 = -1
            if !batch.isEmpty {
                timeout = 0
            } else if let deadline {
                let left = max(deadline - clock.now, .zero).components
                timeout = Int32(min(left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000 + 1, Int64(Int32.max)))
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                Diagnostics.error("waiting for events: \(String(cString: strerror(errno)))")
                return batch.isEmpty ? nil : batch
            }
            if ready == 0 {
                // Nothing more at once for a batch, or the wait is over; else poll woke early.
                if !batch.isEmpty || deadline.map({ clock.now >= $0 }) ?? false { return batch }
                continue
            }
            if store != nil, descriptors[streams.count].revents != 0, store!.drain() { batch.attachmentsChanged = true }
            var ended: [Int] = []
            for index in streams.indices where descriptors[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(streams[index].descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR || errno == EAGAIN { continue }
                if count <= 0 {
                    if count < 0 {
                        Diagnostics.error("\(streams[index].name): reading events: \(String(cString: strerror(errno)))")
                    }
                    if let rest = streams[index].framing.finishStream() { batch.documents.append(streams[index].document(rest)) }
                    ended.append(index)
                    continue
                }
                let documents = buffer.withUnsafeBytes { streams[index].framing.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                for document in documents { batch.documents.append(streams[index].document(document)) }
            }
            for index in ended.reversed() {
                if streams[index].descriptor != STDIN_FILENO { close(streams[index].descriptor) }
                streams.remove(at: index)
            }
            // A partial document is no batch yet: keep reading.
        }
        return batch.isEmpty ? nil : batch
    }
}
