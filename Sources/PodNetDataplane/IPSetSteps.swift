import PodNet
import PodNetNetlink
import PodNetSystem

/// The ipset part of an apply: each operation (consecutive member changes of one set
/// as one netlink batch) written through `IPSets`, and the step that undoes it.
struct IPSetSteps {
    let ipsets: IPSets
    /// Keeps an undo step (most recent last).
    let journal: (_ description: String, _ undo: @escaping () throws -> Void) -> Void
    /// Notes operations the kernel took.
    let completed: ([IPSetOperation]) -> Void

    func run(_ operations: [IPSetOperation]) throws(DataplaneError) {
        let ipsets = self.ipsets
        var index = operations.startIndex
        while index < operations.endIndex {
            let operation = operations[index]
            switch operation {
            case .add(let set, _), .delete(let set, _):
                let adding = if case .add = operation { true } else { false }
                var entries: [IPSetEntry] = []
                let start = index
                while index < operations.endIndex, let entry = Self.member(operations[index], set: set, adding: adding) {
                    entries.append(entry)
                    index += 1
                }
                // Journaled before the batch: members before a refused one are in the set,
                // and the undo (tolerant of members that are not) takes them out again.
                journal("ipset \(adding ? "del" : "add") \(set) (\(entries.count) members)") {
                    if adding {
                        try ipsets.delete(entries, from: set, ifPresent: true)
                    } else {
                        try ipsets.add(entries, to: set, ifAbsent: true)
                    }
                }
                try step { () throws(NetlinkOperationError) in
                    if adding { try ipsets.add(entries, to: set) } else { try ipsets.delete(entries, from: set) }
                }
                completed(Array(operations[start..<index]))
                continue
            case .create(let set):
                try step { () throws(NetlinkOperationError) in try ipsets.create(set) }
                journal("ipset destroy \(set.name)") { try ipsets.destroy(set.name) }
            case .swap(let first, let second):
                try step { () throws(NetlinkOperationError) in try ipsets.swap(first, second) }
                journal(operation.commandText) { try ipsets.swap(first, second) }
            case .destroy(let set):
                try step { () throws(NetlinkOperationError) in try ipsets.destroy(set.name) }
                journal("make ipset \(set.name) again with its \(set.entries.count) members") {
                    var empty = set
                    empty.entries = []
                    try ipsets.create(empty)
                    try ipsets.add(set.entries.sorted(), to: set.name)
                }
            }
            completed([operation])
            index += 1
        }
    }

    private static func member(_ operation: IPSetOperation, set: String, adding: Bool) -> IPSetEntry? {
        switch operation {
        case .add(let name, let entry) where adding && name == set: return entry
        case .delete(let name, let entry) where !adding && name == set: return entry
        default: return nil
        }
    }

    private func step(_ body: () throws(NetlinkOperationError) -> Void) throws(DataplaneError) {
        do {
            try body()
        } catch {
            throw .netlinkOperation(error)
        }
    }
}
