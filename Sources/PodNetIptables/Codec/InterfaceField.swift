/// An interface name with its match mask, as `-i`, `-o` and physdev store them:
/// the mask covers the name and its NUL, or only the prefix before a trailing `+`
/// (xtables_parse_interface).
enum InterfaceField {
    static let size = 16

    /// How many leading mask bytes are 0xFF; the rest are zero.
    static func maskLength(for name: String) -> Int {
        let length = name.utf8.count
        return name.hasSuffix("+") ? length - 1 : (length == 0 ? 0 : length + 1)
    }

    static func mask(for name: String) -> [UInt8] {
        let covered = maskLength(for: name)
        return [UInt8](repeating: 0xFF, count: covered) + [UInt8](zeros: size - covered)
    }

    /// Writes name and mask into their 16-byte fields (the mask without building it as an array).
    static func encode(_ name: String, into fields: inout FieldWriter, name nameOffset: Int,
                       mask maskOffset: Int) throws(RuleEncodingError) {
        guard fields.setFixedString(name, at: nameOffset, length: size) else {
            throw .interfaceNameTooLong(name)
        }
        let covered = maskLength(for: name)
        fields.fill(0xFF, at: maskOffset, count: covered)
        fields.fill(0, at: maskOffset + covered, count: size - covered)
    }

    /// The name, when name and mask are exactly what `encode` writes for it.
    static func decode(_ bytes: [UInt8], name nameOffset: Int, mask maskOffset: Int) -> String? {
        guard let name = bytes.fixedString(at: nameOffset, length: size),
              bytes.slice(maskOffset, size) == mask(for: name) else { return nil }
        return name
    }
}
