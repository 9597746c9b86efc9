/// "Did you mean ...?" for a misspelt key or enum value.
enum NearestName {
    /// The candidate closest to `text` by edit distance (case-insensitive), when it is
    /// close enough to be a plausible typo rather than a different word.
    static func suggestion(for text: String, among candidates: [String]) -> String? {
        let lowered = Array(text.lowercased())
        let scored = candidates.map { ($0, distance(lowered, Array($0.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let tolerance = max(2, min(lowered.count, best.0.count) / 3)
        return best.1 <= tolerance ? best.0 : nil
    }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            current.reserveCapacity(b.count + 1)
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
