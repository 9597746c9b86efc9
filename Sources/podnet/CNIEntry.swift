#if canImport(Glibc)
import Glibc
#endif
import PodNetCNI
import PodNetSystem

/// The binary as the runtime's CNI plugin: chosen by `CNI_COMMAND` before any argument
/// is parsed (a runtime passes none), stdin the network configuration, stdout only the
/// result or the error object, messages on stderr.
enum CNIEntry {
    static func runIfPlugin() {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if text.hasPrefix("CNI_"), let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        guard CNIEnvironment.isPluginInvocation(variables) else { return }
        let stdin = (try? InputFile.read(descriptor: STDIN_FILENO).get()) ?? []
        let outcome = CNIPlugin.run(variables: variables, stdin: stdin, warn: Diagnostics.warn)
        let output = outcome.output.isEmpty ? "" : outcome.output + "\n"
        var bytes = Array(output.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress! + written, $0.count - written) }
            if count <= 0 { if errno == EINTR { continue }; break }
            written += count
        }
        exit(outcome.status)
    }
}
