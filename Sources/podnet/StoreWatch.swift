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
        let parent = dataDirectory.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        levels = [parent.isEmpty ? "/" : parent, dataDirectory, dataDirectory + "/allocations"]
        descend()
    }

    /// Watches the deepest level there is, if deeper than the one watched.
    private mutating func descend() {
        for level in levels.indices.reversed() {
            if let watched, watched.level >= level { return }
            let mask = level == levels.count - 1 ? UInt32(IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) : UInt32(IN_CREATE | IN_MOVED_TO)
            let handle = inotify_add_watch(descriptor, levels[level], mask)
            guard handle >= 0 else { continue }
            if let watched { inotify_rm_watch(descriptor, watched.handle) }
            watched = (level, handle)
            return
        }
    }

    /// Takes what inotify has to say; true when the allocations may have changed (at the
    /// allocations, or on the way down to them: their directory came with its first record).
    mutating func drain() -> Bool {
        var changed = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            changed = true
        }
        if changed { descend() }
        return changed
    }
}
