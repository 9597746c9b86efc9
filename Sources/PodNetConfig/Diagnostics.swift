/// The problems and warnings collected while loading; every stage adds to it
/// instead of stopping at the first problem.
struct Diagnostics {
    private(set) var errors: [ConfigDiagnostic] = []
    private(set) var warnings: [ConfigDiagnostic] = []

    mutating func error(_ location: SourceLocation, _ message: String) {
        errors.append(ConfigDiagnostic(at: location, message))
    }

    mutating func warning(_ location: SourceLocation, _ message: String) {
        warnings.append(ConfigDiagnostic(at: location, message))
    }

    /// The number of errors so far: a stage compares it before and after reading a
    /// value to know whether the value it kept is complete.
    var errorCount: Int { errors.count }

    /// Diagnostics in reading order: by file (in the order of `files`, then of first
    /// mention), then line and column; the order found breaks ties. Duplicates dropped.
    static func ordered(_ diagnostics: [ConfigDiagnostic], files: [String] = []) -> [ConfigDiagnostic] {
        var fileRank: [String: Int] = [:]
        for file in files + diagnostics.map(\.file) where fileRank[file] == nil {
            fileRank[file] = fileRank.count
        }
        var seen = Set<ConfigDiagnostic>()
        return diagnostics.enumerated()
            .filter { seen.insert($0.element).inserted }
            .sorted { a, b in
                let left = (fileRank[a.element.file]!, a.element.line ?? .max, a.element.column ?? .max, a.offset)
                let right = (fileRank[b.element.file]!, b.element.line ?? .max, b.element.column ?? .max, b.offset)
                return left < right
            }
            .map(\.element)
    }
}

extension Diagnostics {
    /// Adds what another stage collected.
    mutating func append(_ other: Diagnostics) {
        errors += other.errors
        warnings += other.warnings
    }
}
