import CYAML

/// One libyaml parse event, as plain Swift values (libyaml's own is freed at once).
public struct YAMLEvent: Sendable {
    public enum Kind: Sendable {
        case streamStart, streamEnd, documentStart, documentEnd
        case alias, scalar, sequenceStart, sequenceEnd, mappingStart, mappingEnd
    }

    public let kind: Kind
    /// Where the event starts, 1-based (the column counts characters).
    public let line: Int
    public let column: Int
    /// The anchor a node defines, or the one an alias names.
    public var anchor: String?
    /// A scalar's explicit tag, "tag:yaml.org,2002:str" for a quoted or block scalar
    /// without one, nil for a plain scalar whose type is resolved from its text.
    public var tag: String?
    /// A scalar's text (it may hold NUL characters).
    public var value = ""
}

/// Why libyaml stopped: its own words, and where (1-based).
public struct YAMLParseError: Error, Sendable {
    public enum Stage: Sendable { case reader, scanner, parser, memory }
    public var stage: Stage
    public var problem: String
    public var line: Int
    public var column: Int
    /// What libyaml was reading when it stopped ("while parsing a block mapping"), and where.
    public var context: (text: String, line: Int, column: Int)?
}

/// libyaml's event parser over UTF-8 text: the only place podnet touches libyaml's C
/// types, as the backends are for libiptc and libmnl.
public struct YAMLEventParser: ~Copyable {
    private let parser: UnsafeMutablePointer<yaml_parser_t>

    /// Runs `body` with a parser reading `text`, which must outlive it (hence the scope).
    public static func parse<T>(_ text: UnsafeBufferPointer<UInt8>,
                                _ body: (inout YAMLEventParser) throws(YAMLParseError) -> T) throws(YAMLParseError) -> T {
        var parser = try YAMLEventParser(text)
        return try body(&parser)
    }

    private init(_ text: UnsafeBufferPointer<UInt8>) throws(YAMLParseError) {
        parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        guard yaml_parser_initialize(parser) == 1 else {
            parser.deallocate()
            throw YAMLParseError(stage: .memory, problem: "cannot start libyaml", line: 0, column: 0)
        }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, text.baseAddress, text.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
    }

    /// The next event; after an error libyaml gives no more.
    public mutating func next() throws(YAMLParseError) -> YAMLEvent {
        var raw = yaml_event_t()
        guard yaml_parser_parse(parser, &raw) == 1 else { throw Self.error(parser.pointee) }
        defer { yaml_event_delete(&raw) }
        return YAMLEvent(&raw)
    }

    private static func error(_ parser: yaml_parser_t) -> YAMLParseError {
        let stage: YAMLParseError.Stage
        switch parser.error {
        case YAML_READER_ERROR: stage = .reader
        case YAML_SCANNER_ERROR: stage = .scanner
        case YAML_MEMORY_ERROR: stage = .memory
        default: stage = .parser
        }
        var error = YAMLParseError(stage: stage, problem: parser.problem.map { String(cString: $0) } ?? "unknown problem",
                                   line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        if let context = parser.context {
            error.context = (String(cString: context), Int(parser.context_mark.line) + 1,
                             Int(parser.context_mark.column) + 1)
        }
        return error
    }
}

extension YAMLEvent {
    fileprivate init(_ event: inout yaml_event_t) {
        line = Int(event.start_mark.line) + 1
        column = Int(event.start_mark.column) + 1
        func string(_ pointer: UnsafePointer<UInt8>?) -> String? { pointer.map { String(cString: $0) } }
        switch event.type {
        case YAML_STREAM_START_EVENT: kind = .streamStart
        case YAML_STREAM_END_EVENT: kind = .streamEnd
        case YAML_DOCUMENT_START_EVENT: kind = .documentStart
        case YAML_DOCUMENT_END_EVENT: kind = .documentEnd
        case YAML_ALIAS_EVENT:
            kind = .alias
            anchor = string(event.data.alias.anchor)
        case YAML_SCALAR_EVENT:
            kind = .scalar
            let scalar = event.data.scalar
            anchor = string(scalar.anchor)
            tag = scalar.quoted_implicit == 1 ? "tag:yaml.org,2002:str" : string(scalar.tag)
            // By its length, not as a C string: a scalar may hold NUL characters.
            value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
        case YAML_SEQUENCE_START_EVENT:
            kind = .sequenceStart
            anchor = string(event.data.sequence_start.anchor)
        case YAML_SEQUENCE_END_EVENT: kind = .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            kind = .mappingStart
            anchor = string(event.data.mapping_start.anchor)
        case YAML_MAPPING_END_EVENT: kind = .mappingEnd
        default: kind = .streamEnd  // YAML_NO_EVENT: libyaml gives none after a successful parse
        }
    }
}
