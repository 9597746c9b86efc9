import Foundation
@testable import PodNetConfig
import Yams

/// What Yams (on the same libyaml) makes of a text: the oracle podnet's own readers are
/// compared with. Its tree is converted exactly as podnet converted Yams' nodes when it
/// read YAML through Yams, and its errors are worded as podnet worded them then.
enum YamsOracle {
    /// The tree, or the error as podnet reports it: (line, column, message).
    enum Outcome: Equatable {
        case tree(DocumentTree?)
        case error(line: Int?, column: Int?, message: String)

        static func == (lhs: Outcome, rhs: Outcome) -> Bool {
            switch (lhs, rhs) {
            case (.tree(let a), .tree(let b)): return a == b
            case let (.error(l1, c1, m1), .error(l2, c2, m2)): return l1 == l2 && c1 == c2 && m1 == m2
            default: return false
            }
        }
    }

    static func compose(_ text: String, file: String = "") throws -> DocumentTree? {
        try Yams.compose(yaml: text).map { tree($0, file: file) }
    }

    static func outcome(_ text: String) -> Outcome {
        do {
            return .tree(try compose(text))
        } catch let error as YamlError {
            let (mark, message) = describe(error)
            return .error(line: mark?.line, column: mark?.column, message: message)
        } catch {
            return .error(line: nil, column: nil, message: "cannot parse: \(error)")
        }
    }

    /// podnet's YAML reader on the same text, as an outcome.
    static func podnetOutcome(_ text: String) -> Outcome {
        do throws(YAMLDocumentReader.SyntaxError) {
            return .tree(try YAMLDocumentReader.read(text, file: ""))
        } catch {
            return .error(line: error.line, column: error.column, message: error.message)
        }
    }

    private static func tree(_ root: Yams.Node, file: String) -> DocumentTree {
        var builder = DocumentTreeBuilder()
        func add(_ node: Yams.Node) {
            let line = node.mark?.line ?? 0, column = node.mark?.column ?? 0
            switch node {
            case .mapping(let mapping):
                builder.add(.mapping, line: line, column: column)
                for (key, value) in mapping {
                    add(key)
                    add(value)
                }
                builder.close()
            case .sequence(let sequence):
                builder.add(.sequence, line: line, column: column)
                sequence.forEach(add)
                builder.close()
            case .alias:
                builder.add(.alias, line: line, column: column)
            case .scalar(let scalar):
                let type: DocumentTree.ScalarType
                switch Tag.Name(rawValue: node.tag.rawValue) {
                case .null: type = .null
                case .bool: type = .bool(node.bool)
                case .int: type = .int
                case .float: type = .float
                default: type = .string
                }
                builder.add(.scalar(type), text: scalar.string, line: line, column: column)
            }
        }
        add(root)
        return builder.build(file: file)
    }

    private static func describe(_ error: YamlError) -> (Mark?, String) {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return (mark, "syntax error: \(problem)\(during)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (context.mark, "duplicate key \(duplicates.joined(separator: ", ")) in a mapping")
        case .reader(let problem, _, _, _):
            return (nil, "cannot read the text: \(problem)")
        default:
            return (nil, "cannot parse: \(error)")
        }
    }

    /// The tag Yams' default resolver gives a plain scalar's text.
    static func resolvedTag(_ text: String) -> String {
        Resolver.default.resolveTag(of: Node(text)).rawValue
    }
}
