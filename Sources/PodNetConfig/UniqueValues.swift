/// Values that must not repeat (peer names, pod names, pod IPs, namespaces): each
/// repeat is reported where it occurs, naming where the value first appeared.
struct UniqueValues<Value: Hashable & CustomStringConvertible> {
    /// What the values are, for the message: "peer name", "pod IP", ...
    let what: String
    /// Each value's first place, by its index in `places`: one hash per value inserted
    /// (50,000 peer names), and a small table entry.
    private var first: [Value: Int32] = [:]
    private var places: [SourcePlace] = []

    init(_ what: String, capacity: Int = 0) {
        self.what = what
        first.reserveCapacity(capacity)
        places.reserveCapacity(capacity)
    }

    /// Records `value`; false (and reported) when it was seen before.
    @discardableResult
    mutating func insert(_ value: Located<Value>, _ diagnostics: inout Diagnostics) -> Bool {
        let next = Int32(places.count)
        var found = next
        // Looked up and, when absent, inserted in one step.
        Self.note(&first[value.value, default: next], into: &found)
        guard found != next else {
            places.append(value.place)
            return true
        }
        let earlier = places[Int(found)]
        diagnostics.error(value.location, "duplicate \(what) \(value.value) "
            + "(\(AddressRules.reference(earlier.location, from: value.location)) has it too)")
        return false
    }

    private static func note(_ slot: inout Int32, into found: inout Int32) {
        found = slot
    }
}
