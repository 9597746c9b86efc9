/// One problem (or warning) found in an input file, at the field it concerns.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// The file as the user named it (or the name given to `ConfigLoader.load(configText:...)`).
    public var file: String
    /// Where in the document, e.g. `peers[2].podCIDRs[0]`; empty for the whole file.
    public var fieldPath: String
    /// 1-based, where the parser knows it (YAML/JSON config); nil for NodeList entries.
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, fieldPath: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.fieldPath = fieldPath
        self.line = line
        self.column = column
        self.message = message
    }

    init(at location: SourceLocation, _ message: String) {
        self.init(file: location.file, fieldPath: location.fieldPath.description,
                  line: location.line, column: location.column, message: message)
    }

    /// `node.yaml:14:7: peers[2].podCIDRs[0]: "10.244.2.5/24" has host bits set (...)`,
    /// the shape compilers use, so editors can jump to the place.
    public var description: String {
        var place = file
        if let line {
            place += ":\(line)"
            if let column { place += ":\(column)" }
        }
        return fieldPath.isEmpty ? "\(place): \(message)" : "\(place): \(fieldPath): \(message)"
    }
}

/// Every problem found in the input; nothing was built from it.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics
    }

    /// One line per diagnostic.
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
