#if canImport(Glibc)
import Glibc
#endif

/// Messages for a person, on stderr so that stdout stays machine-usable.
enum Diagnostics {
    static func error(_ message: String) { write("error: ", message) }
    static func warn(_ message: String) { write("warning: ", message) }

    private static func write(_ prefix: String, _ message: String) {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
        let text = lines.map { prefix + $0 }.joined(separator: "\n") + "\n"
        // write(2) on fd 2: unbuffered, and no shared FILE* for strict concurrency to object to.
        _ = text.utf8CString.withUnsafeBufferPointer { buffer in
            Glibc.write(STDERR_FILENO, buffer.baseAddress, buffer.count - 1)
        }
    }
}
