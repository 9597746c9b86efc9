import PodNet

/// The parts of `kubectl get nodes -o json` that podnet reads, each with its
/// location. Everything else (labels, conditions, images, ...) is skipped while
/// scanning, never built.
struct NodeList {
    var items: [Item] = []

    struct Item {
        var location: SourceLocation
        var name: Located<String>?
        var podCIDR: Located<String>?
        var podCIDRs: [Located<String>] = []
        var addresses: [Address] = []
    }

    struct Address {
        var type: String?
        var address: Located<String>?
    }

    /// The address type that kubenet and flannel route pod traffic to.
    static let routedAddressType = "InternalIP"

    /// Reads a NodeList, reporting a syntax error (which ends the reading) or values
    /// of the wrong type (which are skipped) at the path and line of the value.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, file: String, _ diagnostics: inout Diagnostics) -> NodeList? {
        var reader = NodeListReader(scanner: JSONScanner(bytes), file: file)
        defer { diagnostics.append(reader.diagnostics) }
        do {
            return try reader.nodeList()
        } catch {
            let (line, column) = reader.scanner.position(of: error.offset)
            reader.diagnostics.error(SourceLocation(file: file, fieldPath: .root, line: line, column: column),
                                     "JSON syntax error: \(error.message)")
            return nil
        }
    }
}

/// The walk over a NodeList's JSON: which keys to read, which to skip.
private struct NodeListReader {
    typealias SyntaxError = JSONScanner.SyntaxError

    var scanner: JSONScanner
    let file: String
    var diagnostics = Diagnostics()

    /// The location of the value the scanner is at.
    private func location(_ path: FieldPath) -> SourceLocation {
        let (line, column) = scanner.position(of: scanner.offset)
        return SourceLocation(file: file, fieldPath: path, line: line, column: column)
    }

    /// True when the next value has the expected kind. Null counts as absent; any
    /// other kind is reported and skipped.
    private mutating func expect(_ kind: JSONScanner.Kind, at path: FieldPath, _ expectation: String) throws(SyntaxError) -> Bool {
        let found = try scanner.peekKind()
        if found == kind { return true }
        if found != .null {
            diagnostics.error(location(path), "expected \(expectation), got \(found.description)")
        }
        try scanner.skipValue()
        return false
    }

    private mutating func string(at path: FieldPath) throws(SyntaxError) -> Located<String>? {
        guard try expect(.string, at: path, "a string") else { return nil }
        let here = location(path)
        return Located(value: try scanner.readString(), location: here)
    }

    mutating func nodeList() throws(SyntaxError) -> NodeList {
        var list = NodeList()
        var sawItems = false
        if try expect(.object, at: .root, "a NodeList object (the output of `kubectl get nodes -o json`)") {
            try scanner.beginObject()
            while let key = try scanner.nextKey() {
                guard key == "items" else { try scanner.skipValue(); continue }
                sawItems = true
                list.items = try items(at: FieldPath.root.appending(key))
            }
        }
        try scanner.expectEnd()
        if !sawItems, diagnostics.errorCount == 0 {
            diagnostics.error(SourceLocation(file: file, fieldPath: FieldPath.root.appending("items")),
                              "required (is this the output of `kubectl get nodes -o json`?)")
        }
        return list
    }

    private mutating func items(at path: FieldPath) throws(SyntaxError) -> [NodeList.Item] {
        var items: [NodeList.Item] = []
        guard try expect(.array, at: path, "a list of nodes") else { return items }
        try scanner.beginArray()
        var index = 0
        while try scanner.nextElement() {
            let itemPath = path.appending(index: index)
            var item = NodeList.Item(location: location(itemPath))
            if try expect(.object, at: itemPath, "a node object") {
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    let keyPath = itemPath.appending(key)
                    switch key {
                    case "metadata": try metadata(at: keyPath, into: &item)
                    case "spec": try spec(at: keyPath, into: &item)
                    case "status": try status(at: keyPath, into: &item)
                    default: try scanner.skipValue()
                    }
                }
            }
            items.append(item)
            index += 1
        }
        return items
    }

    private mutating func metadata(at path: FieldPath, into item: inout NodeList.Item) throws(SyntaxError) {
        guard try expect(.object, at: path, "an object") else { return }
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            if key == "name" { item.name = try string(at: path.appending(key)) } else { try scanner.skipValue() }
        }
    }

    private mutating func spec(at path: FieldPath, into item: inout NodeList.Item) throws(SyntaxError) {
        guard try expect(.object, at: path, "an object") else { return }
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            switch key {
            case "podCIDR":
                item.podCIDR = try string(at: path.appending(key))
            case "podCIDRs":
                let listPath = path.appending(key)
                guard try expect(.array, at: listPath, "a list of CIDR strings") else { continue }
                try scanner.beginArray()
                var index = 0
                while try scanner.nextElement() {
                    if let cidr = try string(at: listPath.appending(index: index)) { item.podCIDRs.append(cidr) }
                    index += 1
                }
            default:
                try scanner.skipValue()
            }
        }
    }

    private mutating func status(at path: FieldPath, into item: inout NodeList.Item) throws(SyntaxError) {
        guard try expect(.object, at: path, "an object") else { return }
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            guard key == "addresses" else { try scanner.skipValue(); continue }
            let listPath = path.appending(key)
            guard try expect(.array, at: listPath, "a list of addresses") else { continue }
            try scanner.beginArray()
            var index = 0
            while try scanner.nextElement() {
                let entryPath = listPath.appending(index: index)
                var address = NodeList.Address()
                if try expect(.object, at: entryPath, "an address object") {
                    try scanner.beginObject()
                    while let key = try scanner.nextKey() {
                        switch key {
                        case "type": address.type = try string(at: entryPath.appending(key))?.value
                        case "address": address.address = try string(at: entryPath.appending(key))
                        default: try scanner.skipValue()
                        }
                    }
                }
                item.addresses.append(address)
                index += 1
            }
        }
    }
}
