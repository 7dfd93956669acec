/// A parsed JSON value that remembers where each object member sits in the source bytes, so a body can be passed on
/// byte-for-byte with only chosen members removed (no re-serialisation, no float reformatting, unknown fields kept).
package indirect enum JSONValue: Sendable, Hashable {
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    /// The number exactly as written.
    case number(String)
    case bool(Bool)
    case null

    /// The value of an object's member (the last one, if a key repeats); nil for other values or a missing key.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// A whole number written without fraction or exponent.
    package var integerValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    /// A short name of the value's kind, for messages.
    package var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// One `"key": value` of an object, with byte offsets into the scanned text.
package struct JSONMember: Sendable, Hashable {
    package var key: String
    package var value: JSONValue
    /// From the key's opening quote to the end of the value.
    package var range: Range<Int>
    /// The value alone.
    package var valueRange: Range<Int>

    package init(key: String, value: JSONValue, range: Range<Int>, valueRange: Range<Int>) {
        self.key = key
        self.value = value
        self.range = range
        self.valueRange = valueRange
    }

    init(_ member: JSONReader.Member) {
        self.init(key: member.key, value: member.value ?? .null, range: member.range, valueRange: member.valueRange)
    }
}

/// Whole-document parsing into a ``JSONValue`` tree, on ``JSONReader``.
package enum JSONScanner {
    /// Parses a whole document: exactly one value, surrounded by optional whitespace.
    package static func parse(_ text: some StringProtocol) throws(JSONSyntaxError) -> JSONValue {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses UTF-8 bytes.
    package static func parse(bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let reader = JSONReader(bytes: bytes)
        let (end, value) = try reader.value(reader.skipSpace(0), depth: 1, build: true)
        let rest = reader.skipSpace(end)
        guard rest == reader.end else { throw reader.fail("unexpected text after the JSON value", at: rest) }
        return value ?? .null
    }

    /// An object rebuilt from `members` (scanned from `source`) without those named in `keys`; the others are kept
    /// byte-for-byte, in order.
    package static func removingMembers(
        _ keys: Set<String>, from members: [JSONMember], in source: [UInt8]
    ) -> String {
        let kept = members.filter { !keys.contains($0.key) }
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (position, member) in kept.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: source[member.range])
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}
