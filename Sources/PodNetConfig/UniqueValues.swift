/// Values that must not repeat (peer names, pod names, pod IPs, namespaces): each
/// repeat is reported where it occurs, naming where the value first appeared.
struct UniqueValues<Value: Hashable & CustomStringConvertible> {
    /// What the values are, for the message: "peer name", "pod IP", ...
    let what: String
    private var first: [Value: SourcePlace] = [:]

    init(_ what: String, capacity: Int = 0) {
        self.what = what
        first.reserveCapacity(capacity)
    }

    /// Records `value`; false (and reported) when it was seen before.
    @discardableResult
    mutating func insert(_ value: Located<Value>, _ diagnostics: inout Diagnostics) -> Bool {
        if let earlier = first[value.value] {
            diagnostics.error(value.location, "duplicate \(what) \(value.value) "
                + "(\(AddressRules.reference(earlier.location, from: value.location)) has it too)")
            return false
        }
        first[value.value] = value.place
        return true
    }
}
