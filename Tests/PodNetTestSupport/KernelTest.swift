import Foundation
import PodNetSystem

/// Whether kernel tests run here: as root, or always under CI=true, where a
/// kernel test that cannot run must fail rather than skip.
public enum KernelTest {
    public static var isRoot: Bool { geteuid() == 0 }
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Use as `@Test(.enabled(if: KernelTest.enabled))`: under CI=true the test
    /// always runs (and fails loudly without root).
    public static var enabled: Bool { isRoot || isCI }
}

public struct CommandError: Error, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let stderr: String
    public var description: String {
        "`\(command.joined(separator: " "))` exited \(status): \(stderr)"
    }
}

/// What a finished process printed, and its exit status (or, when `killedBy` is set,
/// the signal that ended it).
public struct ProcessResult: Sendable {
    public var status: Int32
    public var killedBy: Int32? { signalled ? status : nil }
    var signalled = false
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` to completion; `environment` adds to (or overrides) this process's.
public func runProcess(_ executable: String, _ arguments: [String], stdin: String? = nil,
                       environment: [String: String] = [:]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
    }
    // Read both pipes before waiting so a large output cannot block the child.
    let errBox = DataBox()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                         stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
}

/// Runs an oracle command (iptables-legacy, ip, ...) and returns its stdout;
/// throws on a non-zero exit with stderr in the error.
@discardableResult
public func runCommand(_ arguments: [String], stdin: String? = nil) throws -> String {
    let result = try runProcess("/usr/bin/env", arguments, stdin: stdin)
    guard result.status == 0 else {
        throw CommandError(command: arguments, status: result.status, stderr: result.stderr)
    }
    return result.stdout
}

/// Holds what the stderr reader collected; the lock orders its write before the read.
private final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = Data()
    var data: Data {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// A network namespace created for one test and deleted by `delete()` (call it in
/// a `defer`). Its name is unique, so tests can run in parallel.
public final class TestNamespace: Sendable {
    public let name: String
    public var namespace: NetworkNamespace { NetworkNamespace(nameOrPath: name) }
    public var path: String { "/run/netns/" + name }

    public init(prefix: String = "pntest") throws {
        name = "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try runCommand(["ip", "netns", "add", name])
        try runCommand(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    /// Runs a command inside the namespace (`ip netns exec NAME ...`).
    @discardableResult
    public func run(_ arguments: [String], stdin: String? = nil) throws -> String {
        try runCommand(["ip", "netns", "exec", name] + arguments, stdin: stdin)
    }

    public func delete() {
        _ = try? runCommand(["ip", "netns", "del", name])
    }
}
