import Foundation

/// One of podnet's kernel writes, as strace saw it: a netlink request asking for an
/// acknowledgement that is not a dump (podnet asks for one on every write; its reads are
/// gets, which do not, and dumps, of which ipset's ask for one as the `ipset` tool's do),
/// libiptc's table replace or the counters that follow it (setsockopt), or a write to a
/// file under /proc/sys.
public struct KernelWrite: Sendable, Hashable, CustomStringConvertible {
    public enum Call: String, Sendable {
        case sendto, setsockopt, write
    }

    public var call: Call
    /// Which call of its kind it is in the run, from 1: strace's `when=` counts each
    /// system call separately (and per thread: podnet makes these on its main thread).
    public var invocation: Int
    /// strace's line for it.
    public var trace: String

    /// The second half of a libiptc commit: the kernel has taken the new table when
    /// it is made, so refusing it is no refusal of the write.
    public var isCounterUpdate: Bool { trace.contains("_SO_SET_ADD_COUNTERS") }

    public var description: String { "\(call.rawValue) #\(invocation): \(trace.prefix(140))" }

    /// The kernel writes of a trace of `strace -f -y -e trace=sendto,setsockopt,write`.
    static func parse(trace: String) throws -> [KernelWrite] {
        var seen: [Call: Int] = [:], threads = Set<Substring>(), writes: [KernelWrite] = []
        for line in trace.split(separator: "\n") {
            // "PID CALL(ARGUMENTS) = RESULT", the PID padded to five columns.
            guard let space = line.firstIndex(of: " ") else { continue }
            let thread = line[..<space], text = line[space...].drop { $0 == " " }
            guard let open = text.firstIndex(of: "("), let call = Call(rawValue: String(text[..<open])) else { continue }
            threads.insert(thread)
            seen[call, default: 0] += 1
            let arguments = text[open...]
            let isWrite = switch call {
            case .sendto: arguments.split(separator: "nlmsg_flags=").dropFirst().first
                .map { NetlinkFlags(strace: $0.prefix { $0 != "," }).isWriteRequest } ?? false
            case .setsockopt: arguments.contains("_SO_SET_REPLACE") || arguments.contains("_SO_SET_ADD_COUNTERS")
            case .write: arguments.contains("</proc/sys/")
            }
            if isWrite { writes.append(KernelWrite(call: call, invocation: seen[call]!, trace: String(line))) }
        }
        guard threads.count <= 1 else { throw StraceError.manyThreads(trace) }
        return writes
    }
}

/// A netlink request's nlmsg_flags as strace prints them: names joined by `|`, with the
/// bits it has no name for (for a message type it does not know) in hex.
struct NetlinkFlags {
    var bits: UInt16 = 0

    init(strace text: Substring) {
        let names: [Substring: UInt16] = ["NLM_F_ACK": 0x04, "NLM_F_ROOT": 0x100, "NLM_F_MATCH": 0x200,
                                          "NLM_F_DUMP": 0x300, "NLM_F_REPLACE": 0x100, "NLM_F_EXCL": 0x200]
        for part in text.split(separator: "|") {
            bits |= names[part] ?? (part.hasPrefix("0x") ? UInt16(part.dropFirst(2), radix: 16) ?? 0 : 0)
        }
    }

    /// Asks for an acknowledgement and is no dump (NLM_F_ROOT and NLM_F_MATCH together).
    var isWriteRequest: Bool { bits & 0x04 != 0 && bits & 0x300 != 0x300 }
}

/// What strace does to podnet at one of its kernel writes, from outside the process.
public enum KernelFault: Sendable {
    /// The call fails with EPERM without reaching the kernel: a refused write.
    case refused
    /// podnet is killed (SIGKILL) as it makes the call, before the kernel sees it.
    case killed

    var injection: String {
        switch self {
        case .refused: "error=EPERM"
        case .killed: "signal=SIGKILL"
        }
    }
}

public enum StraceError: Error, CustomStringConvertible {
    case manyThreads(String)

    public var description: String {
        switch self {
        case .manyThreads(let trace):
            "podnet made its kernel calls on more than one thread, and strace counts calls per thread:\n\(trace)"
        }
    }
}

/// podnet (or any command) run under strace.
public enum Strace {
    static let calls = "trace=sendto,setsockopt,write"

    /// Runs `command` under strace and returns what it did and its kernel writes in order.
    public static func kernelWrites(of command: [String], environment: [String: String] = [:]) throws
        -> (result: ProcessResult, writes: [KernelWrite]) {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-strace-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let result = try runProcess("/usr/bin/env", ["strace", "-f", "-qq", "-y", "-s", "256", "-e", calls, "-o", trace] + command,
                                    environment: environment)
        return (result, try KernelWrite.parse(trace: try String(contentsOfFile: trace, encoding: .utf8)))
    }

    /// Runs `command` with `fault` injected at `write` (found by `kernelWrites` in a run
    /// that started from the same state) and at the `following` calls of its kind after it.
    public static func run(_ command: [String], environment: [String: String] = [:], fault: KernelFault,
                           at write: KernelWrite, following: Int = 0) throws -> ProcessResult {
        let calls = following == 0 ? "\(write.invocation)" : "\(write.invocation)..\(write.invocation + following)"
        return try runProcess("/usr/bin/env", ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=\(write.call.rawValue)",
                                               "-e", "inject=\(write.call.rawValue):\(fault.injection):when=\(calls)"]
                                               + command, environment: environment)
    }
}
