import CYAML

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
            let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
            defer { parser.deallocate() }
            guard yaml_parser_initialize(parser) == 1 else {
                return .failure(SyntaxError(message: "cannot parse: libyaml could not start"))
            }
            defer { yaml_parser_delete(parser) }
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(parser, bytes.baseAddress, bytes.count)
            var composer = Composer(parser: parser)
            do throws(SyntaxError) {
                return .success(try composer.document(file: file))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// One event, copied out of libyaml's (which is freed at once).
    private struct Event {
        let type: yaml_event_type_t
        let line: Int
        let column: Int
        var anchor: String?
        /// A scalar's explicit tag, or "tag:yaml.org,2002:str" for a quoted one without
        /// a tag; nil when the scalar's type is resolved from its text.
        var tag: String?
        var value = ""

        init(_ event: inout yaml_event_t) {
            type = event.type
            line = Int(event.start_mark.line) + 1
            column = Int(event.start_mark.column) + 1
            switch event.type {
            case YAML_ALIAS_EVENT:
                anchor = string(event.data.alias.anchor)
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                anchor = string(scalar.anchor)
                tag = scalar.quoted_implicit == 1 ? "tag:yaml.org,2002:str" : string(scalar.tag)
                // A scalar may hold NUL characters: by its length, not as a C string.
                value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            case YAML_SEQUENCE_START_EVENT:
                anchor = string(event.data.sequence_start.anchor)
            case YAML_MAPPING_START_EVENT:
                anchor = string(event.data.mapping_start.anchor)
            default:
                break
            }
        }

        private func string(_ pointer: UnsafePointer<UInt8>?) -> String? {
            pointer.map { String(cString: $0) }
        }
    }

    private struct Composer {
        let parser: UnsafeMutablePointer<yaml_parser_t>
        var builder = DocumentTreeBuilder()
        /// Each node's tag, by node index: keys are equal only with equal tags.
        var tags: [YAMLScalarTag?] = []
        /// The node each anchor names, once that node is complete.
        var anchors: [String: Int32] = [:]

        init(parser: UnsafeMutablePointer<yaml_parser_t>) {
            self.parser = parser
        }

        mutating func document(file: String) throws(SyntaxError) -> DocumentTree? {
            _ = try next()  // stream start
            let start = try next()
            guard start.type != YAML_STREAM_END_EVENT else { return nil }
            try node(try next())
            _ = try next()  // document end
            let after = try next()
            guard after.type == YAML_STREAM_END_EVENT else {
                throw SyntaxError(line: after.line, column: after.column,
                                  message: "syntax error: but found another document "
                                      + "(expected a single document in the stream at line 1, column 1)")
            }
            return builder.build(file: file)
        }

        private func next() throws(SyntaxError) -> Event {
            var raw = yaml_event_t()
            guard yaml_parser_parse(parser, &raw) == 1 else { throw Self.error(parser.pointee) }
            defer { yaml_event_delete(&raw) }
            return Event(&raw)
        }

        private mutating func node(_ event: Event) throws(SyntaxError) {
            let index: Int32
            switch event.type {
            case YAML_ALIAS_EVENT:
                guard let name = event.anchor, let target = anchors[name] else {
                    throw SyntaxError(line: event.line, column: event.column, message: "syntax error: found undefined alias")
                }
                replay(target)
                return
            case YAML_SCALAR_EVENT:
                let tag = event.tag.map(YAMLScalarTag.init(explicit:)) ?? YAMLScalarTag(resolving: event.value)
                let type = tag == .bool ? .bool(YAMLScalarTag.boolValue(event.value)) : tag.scalarType
                index = add(.scalar(type), text: event.value, event, tag: tag)
            case YAML_SEQUENCE_START_EVENT:
                index = add(.sequence, text: "", event, tag: nil)
                var element = try next()
                while element.type != YAML_SEQUENCE_END_EVENT {
                    try node(element)
                    element = try next()
                }
                builder.close()
            case YAML_MAPPING_START_EVENT:
                index = add(.mapping, text: "", event, tag: nil)
                var key = try next()
                while key.type != YAML_MAPPING_END_EVENT {
                    try node(key)
                    try node(try next())
                    key = try next()
                }
                builder.close()
                try checkDuplicateKeys(index)
            default:
                throw SyntaxError(line: event.line, column: event.column, message: "cannot parse: unexpected event")
            }
            if let anchor = event.anchor { anchors[anchor] = index }
        }

        private mutating func add(_ kind: DocumentTree.Kind, text: String, _ event: Event,
                                  tag: YAMLScalarTag?) -> Int32 {
            tags.append(tag)
            return builder.add(kind, text: text, line: event.line, column: event.column)
        }

        /// An alias: a copy of the node it names, with that node's positions.
        private mutating func replay(_ index: Int32) {
            let node = builder.nodes[Int(index)]
            tags.append(tags[Int(index)])
            builder.add(node.kind, text: node.text, line: Int(node.line), column: Int(node.column))
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
            var keys: [Int32] = []
            var child = builder.nodes[Int(mapping)].firstChild
            while child >= 0 {
                if builder.nodes[Int(child)].slot < 0 { keys.append(child) }
                child = builder.nodes[Int(child)].nextSibling
            }
            guard keys.count > 1 else { return }
            var repeated: [Int32] = []  // the first of each key that comes again
            for (position, key) in keys.enumerated() where !repeated.contains(where: { equal($0, key) }) {
                if keys[(position + 1)...].contains(where: { equal($0, key) }) { repeated.append(key) }
            }
            guard !repeated.isEmpty else { return }
            let sorted = repeated.sorted { a, b in
                let (x, y) = (builder.nodes[Int(a)], builder.nodes[Int(b)])
                guard case .scalar = x.kind, case .scalar = y.kind else { return false }
                return x.text < y.text
            }
            let names = sorted.map { key -> String in
                if case .scalar = builder.nodes[Int(key)].kind { return builder.nodes[Int(key)].text }
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
                return x.text == y.text && tags[Int(a)] == tags[Int(b)]
            case (.mapping, .mapping), (.sequence, .sequence):
                var (left, right) = (x.firstChild, y.firstChild)
                while left >= 0, right >= 0 {
                    guard equal(left, right) else { return false }
                    (left, right) = (builder.nodes[Int(left)].nextSibling, builder.nodes[Int(right)].nextSibling)
                }
                return left < 0 && right < 0
            default:
                return false
            }
        }

        /// libyaml's error, in the words podnet's messages use.
        private static func error(_ parser: yaml_parser_t) -> SyntaxError {
            let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
            switch parser.error {
            case YAML_READER_ERROR:
                return SyntaxError(message: "cannot read the text: \(problem)")
            case YAML_SCANNER_ERROR, YAML_PARSER_ERROR:
                var message = "syntax error: " + problem
                if let context = parser.context {
                    message += " (\(String(cString: context)) at line \(parser.context_mark.line + 1), "
                        + "column \(parser.context_mark.column + 1))"
                }
                return SyntaxError(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1,
                                   message: message)
            case YAML_MEMORY_ERROR:
                return SyntaxError(message: "cannot parse: out of memory")
            default:
                return SyntaxError(message: "cannot parse: \(problem)")
            }
        }
    }
}
