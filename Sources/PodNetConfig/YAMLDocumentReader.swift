import PodNetYAML

/// Reads a YAML document into a `DocumentTree` with libyaml's event parser: the tree,
/// the types of its scalars, its lines and columns, and its errors are those the
/// previous reader (Yams, on the same libyaml) gave, which the differential tests
/// hold it to. Aliases are expanded into copies of what they name (with the anchored
/// node's positions); a mapping with two equal keys, an undefined alias and a second
/// document are errors.
enum YAMLDocumentReader {
    /// Why the text is not one YAML document, and where (1-based; nil when libyaml
    /// could not say).
    struct SyntaxError: Error, Equatable {
        var line: Int?
        var column: Int?
        var message: String
    }

    /// The document's tree; nil for a text without a document (empty or comments only).
    static func read(_ text: String, file: String) throws(SyntaxError) -> DocumentTree? {
        var text = text
        let result = text.withUTF8 { bytes -> Result<DocumentTree?, SyntaxError> in
            do throws(YAMLParseError) {
                return try YAMLEventParser.parse(bytes) { parser throws(YAMLParseError) in
                    var composer = Composer()
                    do throws(SyntaxError) {
                        return .success(try composer.document(&parser, file: file))
                    } catch {
                        return .failure(error)
                    }
                }
            } catch {
                return .failure(SyntaxError(error))
            }
        }
        return try result.get()
    }

    private struct Composer {
        var builder = DocumentTreeBuilder()
        /// Each node's tag, by node index: keys are equal only with equal tags.
        var tags: [YAMLScalarTag?] = []
        /// The node each anchor names, once that node is complete.
        var anchors: [String: Int32] = [:]

        mutating func document(_ parser: inout YAMLEventParser, file: String) throws(SyntaxError) -> DocumentTree? {
            _ = try next(&parser)  // stream start
            guard try next(&parser).kind != .streamEnd else { return nil }
            try node(try next(&parser), &parser)
            _ = try next(&parser)  // document end
            let after = try next(&parser)
            guard after.kind == .streamEnd else {
                throw SyntaxError(line: after.line, column: after.column,
                                  message: "syntax error: but found another document "
                                      + "(expected a single document in the stream at line 1, column 1)")
            }
            return builder.build(file: file)
        }

        private func next(_ parser: inout YAMLEventParser) throws(SyntaxError) -> YAMLEvent {
            do throws(YAMLParseError) {
                return try parser.next()
            } catch {
                throw SyntaxError(error)
            }
        }

        private mutating func node(_ event: YAMLEvent, _ parser: inout YAMLEventParser) throws(SyntaxError) {
            let index: Int32
            switch event.kind {
            case .alias:
                guard let name = event.anchor, let target = anchors[name] else {
                    throw SyntaxError(line: event.line, column: event.column, message: "syntax error: found undefined alias")
                }
                replay(target)
                return
            case .scalar:
                let tag = event.tag.map(YAMLScalarTag.init(explicit:)) ?? YAMLScalarTag(resolving: event.value)
                index = add(.scalar(tag.scalarType(of: event.value)), text: event.value, event, tag: tag)
            case .sequenceStart:
                index = add(.sequence, text: "", event, tag: nil)
                var element = try next(&parser)
                while element.kind != .sequenceEnd {
                    try node(element, &parser)
                    element = try next(&parser)
                }
                builder.close()
            case .mappingStart:
                index = add(.mapping, text: "", event, tag: nil)
                var key = try next(&parser)
                while key.kind != .mappingEnd {
                    try node(key, &parser)
                    try node(try next(&parser), &parser)
                    key = try next(&parser)
                }
                builder.close()
                try checkDuplicateKeys(index)
            default:
                throw SyntaxError(line: event.line, column: event.column, message: "cannot parse: unexpected event")
            }
            if let anchor = event.anchor { anchors[anchor] = index }
        }

        private mutating func add(_ kind: DocumentTree.Kind, text: String, _ event: YAMLEvent,
                                  tag: YAMLScalarTag?) -> Int32 {
            tags.append(tag)
            return builder.add(kind, text: text, line: event.line, column: event.column)
        }

        /// An alias: a copy of the node it names, with that node's positions. (The sibling
        /// links are followed by hand: each step appends, which `children(of:)` would not survive.)
        private mutating func replay(_ index: Int32) {
            let node = builder.nodes[Int(index)]
            tags.append(tags[Int(index)])
            builder.add(node.kind, textStart: Int(node.textStart), count: Int(node.textCount),
                        line: Int(node.line), column: Int(node.column))
            guard node.kind == .mapping || node.kind == .sequence else { return }
            var child = node.firstChild
            while child >= 0 {
                replay(child)
                child = builder.nodes[Int(child)].nextSibling
            }
            builder.close()
        }

        /// Two equal keys (same text and tag, or equal collections) in one mapping: the
        /// keys that appear more than once, by text, reported at the first of them.
        private func checkDuplicateKeys(_ mapping: Int32) throws(SyntaxError) {
            let keys = builder.children(of: mapping).filter { builder.nodes[Int($0)].slot < 0 }
            guard keys.count > 1 else { return }
            var repeated: [Int32] = []  // the first of each key that comes again
            for (position, key) in keys.enumerated() where !repeated.contains(where: { equal($0, key) }) {
                if keys[(position + 1)...].contains(where: { equal($0, key) }) { repeated.append(key) }
            }
            guard !repeated.isEmpty else { return }
            let sorted = repeated.sorted { a, b in
                guard case .scalar = builder.nodes[Int(a)].kind, case .scalar = builder.nodes[Int(b)].kind else { return false }
                return builder.text(of: a) < builder.text(of: b)
            }
            let names = sorted.map { key -> String in
                if case .scalar = builder.nodes[Int(key)].kind { return builder.text(of: key) }
                return "<uncovertable>"
            }
            let first = builder.nodes[Int(sorted[0])]
            throw SyntaxError(line: Int(first.line), column: Int(first.column),
                              message: "duplicate key \(names.joined(separator: ", ")) in a mapping")
        }

        /// Equal as keys: scalars by text and tag, collections by their contents.
        private func equal(_ a: Int32, _ b: Int32) -> Bool {
            let (x, y) = (builder.nodes[Int(a)], builder.nodes[Int(b)])
            switch (x.kind, y.kind) {
            case (.scalar, .scalar):
                // As Strings (canonically equivalent texts are the same key), as Yams compared them.
                return builder.text(of: a) == builder.text(of: b) && tags[Int(a)] == tags[Int(b)]
            case (.mapping, .mapping), (.sequence, .sequence):
                var (left, right) = (builder.children(of: a), builder.children(of: b))
                while true {
                    switch (left.next(), right.next()) {
                    case (nil, nil): return true
                    case (let l?, let r?): guard equal(l, r) else { return false }
                    default: return false
                    }
                }
            default:
                return false
            }
        }
    }
}

extension YAMLDocumentReader.SyntaxError {
    /// libyaml's error, in the words podnet's messages use.
    init(_ error: YAMLParseError) {
        switch error.stage {
        case .reader:
            self.init(message: "cannot read the text: \(error.problem)")
        case .memory:
            self.init(message: "cannot parse: Memory error")
        case .scanner, .parser:
            var message = "syntax error: " + error.problem
            if let context = error.context {
                message += " (\(context.text) at line \(context.line), column \(context.column))"
            }
            self.init(line: error.line, column: error.column, message: message)
        }
    }
}
