#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reading a config file, a NodeList or standard input whole, with POSIX calls
/// (Foundation's file reading would bring the full Foundation into the binary).
public enum InputFile {
    /// Why a file could not be read: errno and its text.
    public struct Failure: Error, Equatable {
        public var errno: Int32
        public var reason: String { String(cString: strerror(errno)) }
    }

    /// The whole file at `path`.
    public static func read(path: String) -> Result<[UInt8], Failure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(Failure(errno: errno)) }
        defer { close(descriptor) }
        return read(descriptor: descriptor)
    }

    /// Everything left to read from `descriptor`: a regular file in one read of its size
    /// (a NodeList is 44 MB), a pipe in 64 KiB pieces.
    public static func read(descriptor: Int32) -> Result<[UInt8], Failure> {
        var status = stat()
        let size = fstat(descriptor, &status) == 0 && status.st_size > 0 ? Int(status.st_size) : 0
        var bytes: [UInt8] = []
        var chunk = max(size + 1, 1 << 16)
        while true {
            var failure: Int32?
            var reachedEnd = false
            let piece = [UInt8](unsafeUninitializedCapacity: chunk) { buffer, initialized in
                initialized = 0
                askForHugePages(UnsafeMutableRawBufferPointer(buffer))
                while initialized < buffer.count {
                    let got = readBytes(descriptor, buffer.baseAddress! + initialized, buffer.count - initialized)
                    if got > 0 {
                        initialized += got
                    } else if got == 0 {
                        reachedEnd = true
                        return
                    } else if errno != EINTR {
                        failure = errno
                        return
                    }
                }
            }
            if let failure { return .failure(Failure(errno: failure)) }
            if bytes.isEmpty { bytes = piece } else { bytes.append(contentsOf: piece) }
            if reachedEnd || piece.count < chunk { return .success(bytes) }
            chunk = 1 << 16
        }
    }
}

/// A cluster List or NodeList is tens of megabytes read into fresh memory: in 4 KiB
/// pages that is one fault per page (a third of reading a 96 MB List, in a VM), in the
/// 2 MiB pages transparent huge pages give a region marked for them, a few dozen. Only
/// the whole 2 MiB extents inside the buffer are marked; a kernel without them ignores it.
private func askForHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    let hugePage = 2 << 20
    guard buffer.count >= 4 * hugePage, let base = buffer.baseAddress else { return }
    let start = (Int(bitPattern: base) + hugePage - 1) & ~(hugePage - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(hugePage - 1)
    guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(aligned, end - start, MADV_HUGEPAGE)
}

/// read(2), named apart from `InputFile.read`, which would hide it inside the type.
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
