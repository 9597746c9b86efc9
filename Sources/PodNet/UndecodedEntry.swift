/// An entry in one of podnet's own chains that podnet cannot decode into a `Rule`
/// (a header test it does not model, such as `-f`, or an entry the codec refuses).
/// Someone else put it there; podnet keeps it as the kernel's bytes so that it can
/// still show it, remove it and put it back on rollback, and never mistakes it for
/// a rule it wants.
public struct UndecodedEntry: Sendable, Hashable {
    /// The entry in the form libiptc takes from its callers: the kernel's bytes with
    /// counters and the kernel's bookkeeping zeroed and a standard target named by its
    /// verdict or chain, so that two reads of the same rule are equal byte for byte.
    public var bytes: [UInt8]
    /// What a person needs to recognise the entry: its match and target names and
    /// why podnet cannot decode it.
    public var summary: String

    public init(bytes: [UInt8], summary: String) {
        self.bytes = bytes
        self.summary = summary
    }
}
