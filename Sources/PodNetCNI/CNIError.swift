import PodNetConfig

/// A failure as the runtime reads it: `{cniVersion, code, msg, details}` on stdout and a
/// non-zero exit status (libcni parses stdout, not stderr).
public struct CNIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var details: String

    public init(_ code: Code, _ message: String, details: String = "") {
        self.code = code
        self.message = message
        self.details = details
    }

    /// The spec's well-known codes (SPEC.md, "Error"), and the convention for the rest.
    public enum Code: Int, Sendable {
        case incompatibleVersion = 1
        case unsupportedField = 2
        case unknownContainer = 3
        case invalidEnvironment = 4
        case ioFailure = 5
        case decodeFailure = 6
        case invalidNetworkConfig = 7
        case tryAgainLater = 11
        /// STATUS: the plugin cannot serve ADD now.
        case notAvailable = 50
        /// STATUS: existing attachments may have lost connectivity.
        case limitedConnectivity = 51
        /// Anything else: the kernel refused, an allocation could not be made, ...
        case failure = 999
    }

    public var description: String { details.isEmpty ? message : "\(message): \(details)" }

    /// The error object for `version` (the request's, or the newest when it named none).
    public func json(version: String) -> JSONValue {
        .object([
            "cniVersion": .string(version),
            "code": .number(String(code.rawValue)),
            "msg": .string(message),
            "details": details.isEmpty ? nil : .string(details),
        ])
    }
}
