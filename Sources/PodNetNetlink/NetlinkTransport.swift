#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNetSystem

/// Where netlink datagrams go and come from. `NetlinkSocket` is the kernel;
/// the seam lets the session's batching and acknowledgement matching be
/// exercised without root.
public protocol NetlinkTransport: AnyObject {
    /// Sends one datagram (possibly many messages).
    func send(_ datagram: [UInt8]) throws(NetlinkError)
    /// Waits for the next datagram. Throws `.repliesLost` on ENOBUFS.
    func receive() throws(NetlinkError) -> [UInt8]
    /// The next datagram already queued, or nil when none is (never waits).
    func receiveQueued() throws(NetlinkError) -> [UInt8]?
}

/// A netlink socket (libmnl) bound in one network namespace: NETLINK_ROUTE, or
/// another netlink protocol such as NETLINK_NETFILTER.
public final class NetlinkSocket: NetlinkTransport {
    /// Buffer sizes iproute2 uses: sends stay well below the send buffer, and a
    /// chunk's acknowledgements fit in the receive buffer.
    public static let defaultSendBufferBytes: Int32 = 32 * 1024
    public static let defaultReceiveBufferBytes: Int32 = 1024 * 1024
    /// The kernel caps one dump datagram at 32 KiB; twice that never truncates.
    static let datagramBytes = 64 * 1024

    private let socket: OpaquePointer
    /// Where datagrams are received, left uninitialised: the kernel writes what it
    /// sends, and most replies are an acknowledgement of a few dozen bytes. Zeroing
    /// 64 KiB per socket cost every CNI ADD (six sockets) 400,000 instructions and
    /// the page faults of touching 16 pages each.
    private let scratch: UnsafeMutableRawBufferPointer

    /// Opens the socket inside `namespace` (nil: the caller's), so it acts there
    /// for its whole life while the calling thread returns to its own namespace.
    public init(namespace: NetworkNamespace? = nil,
                sendBufferBytes: Int32 = NetlinkSocket.defaultSendBufferBytes,
                receiveBufferBytes: Int32 = NetlinkSocket.defaultReceiveBufferBytes,
                protocol netlinkProtocol: Int32 = NETLINK_ROUTE) throws(NetlinkError) {
        let opened: OpaquePointer?
        do {
            opened = try NetworkNamespace.run(in: namespace) { mnl_socket_open2(netlinkProtocol, Int32(SOCK_CLOEXEC.rawValue)) }
        } catch let error as NamespaceError {
            throw .namespace(error)
        } catch {
            preconditionFailure("NetworkNamespace.run throws only NamespaceError, got \(error)")
        }
        guard let opened else { throw .system(call: "socket(netlink protocol \(netlinkProtocol))", errno: errno) }
        socket = opened
        scratch = .allocate(byteCount: NetlinkSocket.datagramBytes, alignment: MemoryLayout<nlmsghdr>.alignment)
        // Every stored property is set from here on, so a throw releases the instance
        // and deinit closes the socket (closing it here as well freed it twice).
        try setNetlinkOption(NETLINK_EXT_ACK, "NETLINK_EXT_ACK")
        try setNetlinkOption(NETLINK_CAP_ACK, "NETLINK_CAP_ACK")
        try setNetlinkOption(NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK")
        try setSocketOption(SO_SNDBUF, sendBufferBytes, "SO_SNDBUF")
        try setSocketOption(SO_RCVBUF, receiveBufferBytes, "SO_RCVBUF")
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            throw NetlinkError.system(call: "bind", errno: errno)
        }
    }

    deinit {
        mnl_socket_close(socket)
        scratch.deallocate()
    }

    /// The kernel's cookie of the socket's network namespace (SO_NETNS_COOKIE): a
    /// 64-bit number no other namespace gets during this boot, unlike the namespace's
    /// inode, which a new namespace may reuse once the old one is gone.
    public func namespaceCookie() throws(NetlinkError) -> UInt64 {
        var cookie: UInt64 = 0
        var length = socklen_t(MemoryLayout<UInt64>.size)
        guard getsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length) == 0 else {
            throw .system(call: "getsockopt(SO_NETNS_COOKIE)", errno: errno)
        }
        return cookie
    }

    private func setNetlinkOption(_ option: Int32, _ name: String) throws(NetlinkError) {
        var one: Int32 = 1
        guard mnl_socket_setsockopt(socket, option, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .system(call: "setsockopt(\(name))", errno: errno)
        }
    }

    private func setSocketOption(_ option: Int32, _ value: Int32, _ name: String) throws(NetlinkError) {
        var value = value
        guard setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, option, &value,
                         socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .system(call: "setsockopt(\(name))", errno: errno)
        }
    }

    public func send(_ datagram: [UInt8]) throws(NetlinkError) {
        let sent = try retryingInterrupts("sendto") {
            datagram.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        }
        guard sent == datagram.count else { throw .system(call: "sendto (short write)", errno: EMSGSIZE) }
    }

    public func receive() throws(NetlinkError) -> [UInt8] {
        let count = try retryingInterrupts("recvfrom") {
            mnl_socket_recvfrom(socket, scratch.baseAddress, scratch.count)
        }
        return Array(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
    }

    public func receiveQueued() throws(NetlinkError) -> [UInt8]? {
        let fd = mnl_socket_get_fd(socket)
        let count: Int
        do throws(NetlinkError) {
            count = try retryingInterrupts("recv") {
                recv(fd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT))
            }
        } catch .system(_, EAGAIN) {
            return nil
        }
        return Array(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
    }

    /// Runs a socket call, retrying on EINTR; ENOBUFS on receive becomes `.repliesLost`.
    private func retryingInterrupts(_ call: String, _ body: () -> Int) throws(NetlinkError) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            if code == ENOBUFS && call.hasPrefix("recv") { throw .repliesLost }
            throw .system(call: call, errno: code)
        }
    }
}
