import ArgumentParser
// Essentials only (JSONEncoder, ProcessInfo): the full Foundation would bring ICU and
// thousands of protocol conformances the runtime scans at every dynamic cast.
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PodNet
import PodNetDataplane
import PodNetIptables
import PodNetSystem

/// Where and how the commands that touch a node act.
struct NodeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Act in this network namespace: a name under /run/netns or a path (default: the caller's).",
                               valueName: "name|path"))
    var netns: String?

    @Option(help: ArgumentHelp("Seconds to wait for another podnet run on the same namespace.", valueName: "seconds"))
    var lockWait: Double = 60

    @Option(help: ArgumentHelp("Seconds to wait for the xtables lock (/run/xtables.lock or $XTABLES_LOCKFILE).",
                               valueName: "seconds"))
    var xtablesWait: Double = 5

    @Option(help: ArgumentHelp("Output format.", valueName: "text|json"))
    var output: OutputFormat = .text

    @Option(help: ArgumentHelp("Log level on stderr.", valueName: "trace|debug|info|notice|warning|error|critical"))
    var logLevel: Logger.Level = .warning

    var namespace: NetworkNamespace? { netns.map(NetworkNamespace.init(nameOrPath:)) }

    func dataplane() -> NodeDataplane {
        let lock = XtablesLock.fromEnvironment(wait: .milliseconds(Int(xtablesWait * 1000)))
        return NodeDataplane(namespace: namespace, iptables: Iptables(namespace: namespace, lock: lock),
                             lockWait: .milliseconds(Int(lockWait * 1000)))
    }

    func logger() -> Logger {
        var logger = Logger(label: "podnet") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = logLevel
        return logger
    }

    /// Colour only when stdout is a terminal and the user has not asked for none.
    var colour: Bool {
        output == .text && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    func print(_ plan: Plan, bridge: BridgeState?) {
        switch output {
        case .text:
            Swift.print(PlanText.render(plan, bridge: bridge, style: PlanText.Style(colour: colour)), terminator: "")
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(PlanDocument(plan, bridge: bridge))) ?? Data("{}".utf8)
            Swift.print(String(decoding: data, as: UTF8.self))
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Runs `body`, timing it in the log.
func timed<T>(_ logger: Logger, _ phase: String, _ body: () throws -> T) rethrows -> T {
    let clock = ContinuousClock()
    let start = clock.now
    defer { logger.info("\(phase) took \(clock.now - start)") }
    return try body()
}

/// Prints what `result` did; routes and nexthops the kernel refused (the rest was
/// applied) are named on stderr with the kernel's reason and make the exit status 3.
func report(_ result: ApplyResult, _ node: NodeOptions, bridge: BridgeState?) throws {
    node.print(result.executed, bridge: bridge)
    result.warnings.forEach(Diagnostics.warn)
    let refused = result.executed.refusedNexthops.map(\.description) + result.executed.refusedRoutes.map(\.description)
    guard !refused.isEmpty else { return }
    func counted(_ count: Int, _ noun: String) -> String? {
        count == 0 ? nil : "\(count) \(noun)\(count == 1 ? "" : "s")"
    }
    let what = [counted(result.executed.refusedNexthops.count, "nexthop"),
                counted(result.executed.refusedRoutes.count, "route")].compactMap { $0 }.joined(separator: " and ")
    Diagnostics.error("the kernel refused \(what); everything else "
        + "was applied, and running it again retries \(refused.count == 1 ? "it" : "them"):\n"
        + refused.map { "  \($0)" }.joined(separator: "\n"))
    throw ExitStatus.routesRefused
}

/// A dataplane failure is the kernel's or the environment's, not the input's: exit 1.
func failing<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        Diagnostics.error("\(error)")
        throw ExitStatus.failure
    }
}
