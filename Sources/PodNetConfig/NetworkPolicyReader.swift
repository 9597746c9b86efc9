import PodNet

/// NetworkPolicy items, checked as the API server checks them (so that a policy podnet
/// would enforce differently from the API's meaning is refused, not guessed at).
enum NetworkPolicyReader {
    static func policy(_ item: JSONField, _ diagnostics: inout Diagnostics) -> NetworkPolicy? {
        guard let (name, _) = ObjectMeta.read(item, namespaced: true, &diagnostics) else { return nil }
        guard let spec = item.member("spec") else {
            diagnostics.error(item.location.appending("spec", keepingPosition: true), "required")
            return nil
        }
        let podSelector = spec.member("podSelector").map { selector($0, &diagnostics) } ?? .everything
        let ingress = (spec.member("ingress")?.array(&diagnostics) ?? []).map { rule($0, peersKey: "from", &diagnostics) }
        let egress = (spec.member("egress")?.array(&diagnostics) ?? []).map { rule($0, peersKey: "to", &diagnostics) }
        var isolatesIngress = true, isolatesEgress = !egress.isEmpty
        if let types = spec.member("policyTypes") {
            isolatesIngress = false
            isolatesEgress = false
            for entry in types.array(&diagnostics) ?? [] {
                switch entry.string(&diagnostics) {
                case "Ingress": isolatesIngress = true
                case "Egress": isolatesEgress = true
                case let other?: diagnostics.error(entry.location, "unknown policy type \"\(other)\" (expected Ingress or Egress)")
                case nil: break
                }
            }
        }
        return NetworkPolicy(namespace: name.namespace, name: name.name, podSelector: podSelector,
                             isolatesIngress: isolatesIngress, isolatesEgress: isolatesEgress,
                             ingress: ingress, egress: egress)
    }

    static func rule(_ field: JSONField, peersKey: String, _ diagnostics: inout Diagnostics) -> PolicyRule {
        PolicyRule(peers: (field.member(peersKey)?.array(&diagnostics) ?? []).compactMap { peer($0, &diagnostics) },
                   ports: (field.member("ports")?.array(&diagnostics) ?? []).compactMap { port($0, &diagnostics) })
    }

    static func peer(_ field: JSONField, _ diagnostics: inout Diagnostics) -> PolicyPeer? {
        let pods = field.member("podSelector"), namespaces = field.member("namespaceSelector")
        if let block = field.member("ipBlock") {
            guard pods == nil, namespaces == nil else {
                diagnostics.error(block.location, "ipBlock cannot be combined with podSelector or namespaceSelector in one peer")
                return nil
            }
            return ipBlock(block, &diagnostics)
        }
        guard pods != nil || namespaces != nil else {
            diagnostics.error(field.location, "a peer needs podSelector, namespaceSelector or ipBlock")
            return nil
        }
        return .pods(podSelector: pods.map { selector($0, &diagnostics) },
                     namespaceSelector: namespaces.map { selector($0, &diagnostics) })
    }

    /// A CIDR and the holes in it; host bits are masked, as the API accepts them.
    static func ipBlock(_ field: JSONField, _ diagnostics: inout Diagnostics) -> PolicyPeer? {
        guard let cidrField = field.member("cidr") else {
            diagnostics.error(field.location.appending("cidr", keepingPosition: true), "required")
            return nil
        }
        guard let cidr = network(cidrField, &diagnostics) else { return nil }
        var holes: [IPNetwork] = []
        for entry in field.member("except")?.array(&diagnostics) ?? [] {
            guard let hole = network(entry, &diagnostics) else { continue }
            guard hole.family == cidr.family, cidr.contains(hole), hole != cidr else {
                diagnostics.error(entry.location, "\(hole) is not inside the block's cidr \(cidr)")
                continue
            }
            holes.append(hole)
        }
        return .ipBlock(cidr: cidr, except: holes)
    }

    private static func network(_ field: JSONField, _ diagnostics: inout Diagnostics) -> IPNetwork? {
        guard let text = field.string(&diagnostics) else { return nil }
        do {
            return try IPNetwork(parsing: text)
        } catch .hostBitsSet {
            let slash = text.lastIndex(of: "/")!
            return IPNetwork(network: IPAddress(String(text[..<slash]))!, prefixLength: Int(text[text.index(after: slash)...])!)
        } catch {
            diagnostics.error(field.location, error.description)
            return nil
        }
    }

    static func port(_ field: JSONField, _ diagnostics: inout Diagnostics) -> PolicyPort? {
        guard field.object(&diagnostics) != nil else { return nil }
        let transport = field.member("protocol").map { TransportProtocol.read($0, &diagnostics) } ?? .tcp
        let endPort = field.member("endPort")
        var port: PolicyPort.Port?
        if let portField = field.member("port") {
            switch portField.value {
            case .string(let name):
                if let problem = portNameProblem(name) {
                    diagnostics.error(portField.location, problem)
                    return nil
                }
                if let endPort {
                    diagnostics.error(endPort.location, "endPort cannot be used with a named port (\"\(name)\")")
                    return nil
                }
                port = .named(name)
            default:
                guard let number = portField.port(&diagnostics) else { return nil }
                port = .number(number)
                if let endPort {
                    guard let end = endPort.port(&diagnostics) else { return nil }
                    guard end >= number else {
                        diagnostics.error(endPort.location, "endPort \(end) is below port \(number)")
                        return nil
                    }
                    port = .range(number, end)
                }
            }
        } else if let endPort {
            diagnostics.error(endPort.location, "endPort needs a numeric port")
            return nil
        }
        guard let transport else { return nil }
        return PolicyPort(transport: transport, port: port)
    }

    /// An IANA service name, as a container port's name is: 1..15 lower-case letters,
    /// digits and inner single hyphens, with a letter.
    static func portNameProblem(_ name: String) -> String? {
        let allowed = name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
        guard (1...15).contains(name.utf8.count), allowed, !name.hasPrefix("-"), !name.hasSuffix("-"), !name.contains("--"),
              name.utf8.contains(where: { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) else {
            return "\"\(name)\" is not a port name (1 to 15 lower-case letters, digits and single inner hyphens, with a letter)"
        }
        return nil
    }

    static func selector(_ field: JSONField, _ diagnostics: inout Diagnostics) -> LabelSelector {
        guard field.object(&diagnostics) != nil else { return .everything }
        var selector = LabelSelector(matchLabels: field.member("matchLabels")?.labels(&diagnostics) ?? [:])
        for expression in field.member("matchExpressions")?.array(&diagnostics) ?? [] {
            guard let key = expression.member("key")?.string(&diagnostics) else {
                diagnostics.error(expression.location.appending("key", keepingPosition: true), "required")
                continue
            }
            guard let operatorField = expression.member("operator") else {
                diagnostics.error(expression.location.appending("operator", keepingPosition: true), "required")
                continue
            }
            guard let text = operatorField.string(&diagnostics) else { continue }
            guard let op = LabelRequirement.Operator(rawValue: text) else {
                diagnostics.error(operatorField.location,
                                  "unknown operator \"\(text)\" (expected In, NotIn, Exists or DoesNotExist)")
                continue
            }
            let valuesField = expression.member("values")
            let values = valuesField?.strings(&diagnostics) ?? []
            let needsValues = op == .in || op == .notIn
            if needsValues, values.isEmpty {
                diagnostics.error(valuesField?.location ?? expression.location.appending("values", keepingPosition: true),
                                  "\(text) needs at least one value")
                continue
            }
            if !needsValues, let valuesField, !values.isEmpty {
                diagnostics.error(valuesField.location, "\(text) takes no values")
                continue
            }
            selector.matchExpressions.append(LabelRequirement(key: key, op: op, values: values))
        }
        return selector
    }
}
