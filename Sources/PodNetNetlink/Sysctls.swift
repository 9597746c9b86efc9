#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNet
import PodNetSystem

public enum SysctlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// /proc/sys/net/bridge does not exist: br_netfilter is not loaded.
    case bridgeNetfilterMissing(path: String)
    case read(path: String, errno: Int32)
    case write(path: String, value: String, errno: Int32)
    case namespace(NamespaceError)

    public var description: String {
        switch self {
        case .bridgeNetfilterMissing(let path):
            return "\(path) cannot be used: /proc/sys/net/bridge is missing because the br_netfilter module is not "
                + "loaded; run `modprobe br_netfilter` and list it in /etc/modules-load.d/ so it loads at boot"
        case .read(let path, let code):
            return "cannot read \(path): \(String(cString: strerror(code)))"
        case .write(let path, let value, let code):
            return "cannot write \(value) to \(path): \(String(cString: strerror(code)))"
        case .namespace(let error):
            return error.description
        }
    }

    /// The kernel has no such setting (br_netfilter not loaded, IPv6 disabled, no such link).
    var isMissingSetting: Bool {
        switch self {
        case .bridgeNetfilterMissing: return true
        case .read(_, let code), .write(_, _, let code): return code == ENOENT
        case .namespace: return false
        }
    }

    /// The error for a sysctl file that could not be opened: a missing bridge
    /// directory means br_netfilter is not loaded, which deserves its own advice.
    static func unopenable(_ relativePath: String, errno code: Int32, bridgeDirectoryExists: Bool,
                           writing value: String?) -> SysctlError {
        let path = Sysctls.root + relativePath
        if code == ENOENT, relativePath.hasPrefix(Sysctls.bridgeDirectory + "/"), !bridgeDirectoryExists {
            return .bridgeNetfilterMissing(path: path)
        }
        return value.map { .write(path: path, value: $0, errno: code) } ?? .read(path: path, errno: code)
    }
}

/// A router advertisement podnet's IPv6 forwarding would make the kernel ignore.
public struct RouterAdvertisementWarning: Sendable, Hashable, CustomStringConvertible {
    public var interface: String

    public var description: String {
        "turning on net.ipv6.conf.all.forwarding makes the kernel ignore router advertisements on \(interface) "
            + "(accept_ra=1), so the default route it learned from them will expire; "
            + "set net.ipv6.conf.\(interface).accept_ra=2 to keep accepting them"
    }
}

/// Kernel settings under /proc/sys of one network namespace. Each file is
/// opened, read or written and closed inside the namespace, since /proc/sys/net
/// shows the namespace of the thread that opens it.
public struct Sysctls: Sendable {
    public let namespace: NetworkNamespace?

    static let root = "/proc/sys/"
    static let bridgeDirectory = "net/bridge"
    /// The protocol of routes the kernel learned from router advertisements (RTPROT_RA).
    static let routerAdvertisementProtocol: UInt8 = 9

    public init(namespace: NetworkNamespace? = nil) {
        self.namespace = namespace
    }

    /// `sysctl -n KEY`, without the trailing newline.
    public func value(of key: SysctlKey) throws(SysctlError) -> String {
        try value(atPath: key.path)
    }

    /// `sysctl -n KEY`, or nil when the kernel has no such setting.
    public func valueIfPresent(of key: SysctlKey) throws(SysctlError) -> String? {
        do {
            return try value(of: key)
        } catch where error.isMissingSetting {
            return nil
        }
    }

    /// The value at `path` below /proc/sys.
    func value(atPath path: String) throws(SysctlError) -> String {
        try inNamespace { () throws(SysctlError) in
            let descriptor = try openFile(path, flags: O_RDONLY, writing: nil)
            defer { close(descriptor) }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw .read(path: Sysctls.root + path, errno: errno) }
            return String(decoding: buffer[0..<count], as: UTF8.self)
                .trimmingSuffix(while: { $0 == "\n" || $0 == " " })
        }
    }

    /// `sysctl -w KEY=VALUE`.
    public func set(_ setting: SysctlSetting) throws(SysctlError) {
        try inNamespace { () throws(SysctlError) in
            let descriptor = try openFile(setting.key.path, flags: O_WRONLY, writing: setting.value)
            defer { close(descriptor) }
            let bytes = Array((setting.value + "\n").utf8)
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == bytes.count else {
                throw .write(path: Sysctls.root + setting.key.path, value: setting.value, errno: errno)
            }
        }
    }

    /// What turning IPv6 forwarding on would cost: the interfaces with accept_ra=1
    /// holding a default route learned from router advertisements. Empty when
    /// forwarding is already on (nothing changes) or accept_ra is 0 or 2.
    public func ipv6ForwardingWarnings(using netlink: Netlink) throws(NetlinkOperationError) -> [RouterAdvertisementWarning] {
        let forwarding = try sysctl { () throws(SysctlError) in try value(of: .ipv6Forwarding) }
        guard forwarding == "0" else { return [] }
        let (links, routes) = try netlink.attempt("ip -6 route show default proto ra") {
            () throws(NetlinkError) in
            (try netlink.links(), try netlink.routes(family: .ipv6, table: NodeConfig.mainRouteTable,
                                                     proto: Sysctls.routerAdvertisementProtocol))
        }
        let learnedOn = Set(routes.filter { $0.destination.prefixLength == 0 }.compactMap(\.outputInterfaceIndex))
        var warnings: [RouterAdvertisementWarning] = []
        for link in links where learnedOn.contains(link.index) {
            let acceptRA = try sysctl { () throws(SysctlError) in try value(atPath: "net/ipv6/conf/\(link.name)/accept_ra") }
            if acceptRA == "1" { warnings.append(RouterAdvertisementWarning(interface: link.name)) }
        }
        return warnings
    }

    private func sysctl<T>(_ body: () throws(SysctlError) -> T) throws(NetlinkOperationError) -> T {
        do {
            return try body()
        } catch {
            throw .sysctl(error)
        }
    }

    private func openFile(_ path: String, flags: Int32, writing value: String?) throws(SysctlError) -> Int32 {
        let descriptor = open(Sysctls.root + path, flags | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            let bridgeExists = access(Sysctls.root + Sysctls.bridgeDirectory, F_OK) == 0
            throw SysctlError.unopenable(path, errno: code, bridgeDirectoryExists: bridgeExists, writing: value)
        }
        return descriptor
    }

    private func inNamespace<T>(_ body: () throws(SysctlError) -> T) throws(SysctlError) -> T {
        let outcome: Result<T, SysctlError>
        do {
            outcome = try NetworkNamespace.run(in: namespace) { () -> Result<T, SysctlError> in
                do throws(SysctlError) { return .success(try body()) } catch { return .failure(error) }
            }
        } catch let error as NamespaceError {
            throw .namespace(error)
        } catch {
            preconditionFailure("NetworkNamespace.run throws only NamespaceError, got \(error)")
        }
        return try outcome.get()
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = self
        while let last = text.last, predicate(last) { text.removeLast() }
        return text
    }
}
