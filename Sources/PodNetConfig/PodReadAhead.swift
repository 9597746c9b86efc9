import PodNet
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The pods of a big List's second half, read on a second core while the List's reader
/// reads the first half. A cluster's List is nearly all pods (10,000 of them are 96 MB),
/// and `podnet apply --cluster` waits for all of them before it compiles a rule.
///
/// The second reader starts at a guess: the first line past the middle of the items
/// that is indented like the first item and opens an object (kubectl prints one item
/// per such line; JSON has no raw newline inside a string, so such a line starts a
/// value). The guess is taken only when the first reader, walking the items one by one,
/// arrives at an item that starts exactly there: then the second reader started where a
/// whole read would be, and what it read is what a whole read would read. Anything else
/// (a guess inside an item, another layout, an array that ends first) is thrown away and
/// the first reader reads on alone. The second reader takes only pods the quick reader
/// reads without a problem, so that nothing it keeps carries a line or an item index;
/// at the first other item it stops, and the first reader reads on from there with its
/// own count of lines and items.
final class PodReadAhead: @unchecked Sendable {
    /// Lists smaller than this are read by one reader: a thread costs more than it saves.
    static let minimumBytes = 4 << 20

    /// Where the second reader started: the first byte of an item.
    let offset: Int
    private let bytes: UnsafeBufferPointer<UInt8>
    private var pods: [ClusterPod] = []
    /// After the last pod taken (before the `,` or `]` that follows it).
    private var end: JSONScanner?
    private var thread: pthread_t?

    private init(bytes: UnsafeBufferPointer<UInt8>, offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }

    /// A reader going ahead of one at the first item of an array (at `firstItem`), or nil
    /// when the List is small or no guess is found; `at` forces the guess (tests).
    static func start(_ bytes: UnsafeBufferPointer<UInt8>, firstItem: Int, at forced: Int? = nil) -> PodReadAhead? {
        guard let offset = forced ?? guess(bytes, firstItem: firstItem), offset > firstItem, offset < bytes.count else {
            return nil
        }
        let ahead = PodReadAhead(bytes: bytes, offset: offset)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(ahead).toOpaque()
        guard pthread_create(&thread, nil, { context in
            let ahead = Unmanaged<PodReadAhead>.fromOpaque(context!).takeRetainedValue()
            ahead.read()
            return nil
        }, context) == 0 else {
            Unmanaged<PodReadAhead>.fromOpaque(context).release()
            return nil
        }
        ahead.thread = thread
        return ahead
    }

    /// Waits for the second reader: the pods it read and the scanner after the last of
    /// them (nil when it took none). Called once for every reader started, before the
    /// List's bytes go.
    func finish() -> (pods: [ClusterPod], end: JSONScanner?) {
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
        return (pods, end)
    }

    /// Pod after pod from `offset` until an item that is not one, a pod with anything to
    /// report, a syntax error or the array's end: the first reader meets each of those
    /// itself, where it is, and names it with its line and index.
    private func read() {
        var scanner = JSONScanner(bytes, startingAt: offset)
        var labelSets = LabelSets()
        do {
            repeat {
                guard try ClusterListReader.isPod(scanner) else { return }
                if let pod = PodItemQuickReader.pod(&scanner, labelSets: &labelSets) {
                    pods.append(pod)
                } else {
                    // What the quick reader leaves to the full one (an escaped key, a
                    // repeated one) is taken when it has nothing to report.
                    var reader = PodItemReader(scanner: scanner, file: "")
                    guard let pod = try reader.pod(at: .root), reader.diagnostics.errors.isEmpty,
                          reader.diagnostics.warnings.isEmpty else { return }
                    pods.append(pod)
                    scanner = reader.scanner
                }
                end = scanner
            } while try scanner.nextElement()
        } catch {
            return
        }
    }

    /// The first line at or past the middle of the items indented as the first item
    /// (spaces only, after a newline) whose first byte opens an object.
    static func guess(_ bytes: UnsafeBufferPointer<UInt8>, firstItem: Int) -> Int? {
        guard bytes.count - firstItem >= minimumBytes, bytes[firstItem] == UInt8(ascii: "{") else { return nil }
        var indent = 0
        while firstItem - indent - 1 >= 0, bytes[firstItem - indent - 1] == UInt8(ascii: " ") { indent += 1 }
        guard firstItem - indent - 1 >= 0, bytes[firstItem - indent - 1] == UInt8(ascii: "\n") else { return nil }
        var index = firstItem + (bytes.count - firstItem) / 2
        while index + indent + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                var spaces = 0
                while spaces < indent, bytes[index + 1 + spaces] == UInt8(ascii: " ") { spaces += 1 }
                if spaces == indent, bytes[index + 1 + indent] == UInt8(ascii: "{") { return index + 1 + indent }
            }
            index += 1
        }
        return nil
    }
}
