#if canImport(Glibc)
import Glibc
#endif

/// Tells `podnet watch` that the CNI plugin recorded or released an attachment: inotify
/// on the store's allocations directory, where a record is renamed into place whole
/// (IN_MOVED_TO) and unlinked on release (IN_DELETE). A node whose plugin has not run yet
/// has no such directory: then the nearest of the data directory and its parent that
/// exists is watched for the next level's creation, and the watch moves down to the
/// allocations once they are there.
struct StoreWatch {
    let descriptor: Int32
    private let levels: [String]
    /// The level watched now (an index into `levels`; the last is the allocations).
    private var watched: (level: Int, handle: Int32)?
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    /// Nil when inotify is refused (watch then learns of attachments at its full applies).
    init?(dataDirectory: String) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            Diagnostics.warn("cannot watch the CNI store \(dataDirectory) (inotify: \(String(cString: strerror(errno)))): "
                             + "new attachments reach policy at the next full apply or the kubelet's report")
            return nil
        }
        descriptor = fd
        let parent: String
        if let slash = dataDirectory.lastIndex(of: "/") {
            parent = slash == dataDirectory.startIndex ? "/" : String(dataDirectory[..<slash])
        } else {
            parent = "."
        }
        levels = [parent, dataDirectory, dataDirectory + "/allocations"]
        descend()
        if watched == nil {
            Diagnostics.warn("cannot watch the CNI store \(dataDirectory): neither it nor \(parent) exists; "
                             + "new attachments reach policy at the next full apply or the kubelet's report")
        }
    }

    /// Watches the deepest level there is. A deeper one made between the two checks would
    /// give no event at the level watched, so after each move down the next is tried again.
    private mutating func descend() {
        var moved = true
        while moved, (watched?.level ?? -1) < levels.count - 1 {
            moved = false
            for level in levels.indices.reversed() {
                if let watched, watched.level >= level { break }
                let last = level == levels.count - 1
                let mask = last ? UInt32(IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) : UInt32(IN_CREATE | IN_MOVED_TO)
                let handle = inotify_add_watch(descriptor, levels[level], mask)
                guard handle >= 0 else { continue }
                if let watched, watched.handle != handle { inotify_rm_watch(descriptor, watched.handle) }
                watched = (level, handle)
                moved = true
                break
            }
        }
    }

    /// Takes what inotify has to say; true when the allocations may have changed (at the
    /// allocations, or on the way down to them: their directory came with its first
    /// record). A watched directory that went (IN_IGNORED: the store removed by hand) is
    /// watched again from the nearest level there is.
    mutating func drain() -> Bool {
        var changed = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            changed = true
            // struct inotify_event: wd, mask, cookie, len, then len bytes of name.
            var offset = 0
            while offset + 16 <= count {
                let (handle, mask, length) = buffer.withUnsafeBytes { bytes in
                    (bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                     bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                     Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                if mask & UInt32(IN_IGNORED) != 0, watched?.handle == handle { watched = nil }
                offset += 16 + length
            }
        }
        if changed { descend() }
        return changed
    }
}
