import Foundation

/// Why a byte string is not the JSON the proxy expects.
package enum JSONScanError: Error, Sendable, Equatable {
    case malformed(offset: Int)
    case notAnObject
    case tooDeep
}

/// A validating, single-pass scan of one JSON object that records where each member's key and value lie.
///
/// The proxy edits request bodies by splicing bytes at these ranges instead of decoding and re-encoding them,
/// so unknown fields, key order and number spellings reach the upstream exactly as the client sent them.
package struct JSONObjectScan: Sendable {
    /// One `"key": value` member of the object.
    package struct Member: Sendable {
        package var key: String
        package var valueRange: Range<Int>
    }

    /// The object's members in document order (duplicates kept; lookups take the last, as most parsers do).
    package private(set) var members: [Member] = []
    /// Index of the object's opening `{` and one past its closing `}`.
    package private(set) var range: Range<Int> = 0..<0

    /// Scans the object starting at `start` (leading whitespace allowed) in `bytes`.
    /// With `wholeDocument`, only whitespace may follow it.
    package init(_ bytes: [UInt8], start: Int = 0, end: Int? = nil, wholeDocument: Bool = true) throws(JSONScanError) {
        var reader = Reader(bytes: bytes, end: end ?? bytes.count)
        var i = reader.skipSpace(start)
        guard i < reader.end, bytes[i] == UInt8(ascii: "{") else {
            if i < reader.end, Reader.startsValue(bytes[i]) { throw .notAnObject }
            throw .malformed(offset: i)
        }
        let open = i
        i = reader.skipSpace(i + 1)
        if i < reader.end, bytes[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                guard i < reader.end, bytes[i] == UInt8(ascii: "\"") else { throw .malformed(offset: i) }
                let keyEnd = try reader.string(i)
                let key = try reader.decodeString(i..<keyEnd)
                i = reader.skipSpace(keyEnd)
                guard i < reader.end, bytes[i] == UInt8(ascii: ":") else { throw .malformed(offset: i) }
                let valueStart = reader.skipSpace(i + 1)
                let valueEnd = try reader.value(valueStart, depth: 1)
                members.append(Member(key: key, valueRange: valueStart..<valueEnd))
                i = reader.skipSpace(valueEnd)
                guard i < reader.end else { throw .malformed(offset: i) }
                if bytes[i] == UInt8(ascii: ",") {
                    i = reader.skipSpace(i + 1)
                    continue
                }
                guard bytes[i] == UInt8(ascii: "}") else { throw .malformed(offset: i) }
                i += 1
                break
            }
        }
        range = open..<i
        if wholeDocument {
            let rest = reader.skipSpace(i)
            guard rest == reader.end else { throw .malformed(offset: rest) }
        }
    }

    /// The last member named `key`.
    package func member(_ key: String) -> Member? { members.last { $0.key == key } }
}

/// Typed reads of scanned values.
extension JSONObjectScan {
    /// The string value of `key`, or nil when absent or not a string.
    package func string(_ key: String, in bytes: [UInt8]) -> String? {
        guard let member = member(key), bytes[member.valueRange.lowerBound] == UInt8(ascii: "\"") else { return nil }
        var reader = Reader(bytes: bytes, end: member.valueRange.upperBound)
        return try? reader.decodeString(member.valueRange)
    }

    /// The boolean value of `key`, or nil when absent or not a boolean.
    package func bool(_ key: String, in bytes: [UInt8]) -> Bool? {
        guard let member = member(key) else { return nil }
        switch bytes[member.valueRange.lowerBound] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }

    /// The integer value of `key`, or nil when absent or not an integer that fits Int64.
    package func int64(_ key: String, in bytes: [UInt8]) -> Int64? {
        guard let member = member(key) else { return nil }
        return Int64(String(decoding: bytes[member.valueRange], as: UTF8.self))
    }

    /// The nested object at `key`, or nil when absent or not an object (`null` included).
    package func object(_ key: String, in bytes: [UInt8]) -> JSONObjectScan? {
        guard let member = member(key), bytes[member.valueRange.lowerBound] == UInt8(ascii: "{") else { return nil }
        return try? JSONObjectScan(
            bytes, start: member.valueRange.lowerBound, end: member.valueRange.upperBound, wholeDocument: true)
    }

    /// True when `key` holds an empty array.
    package func isEmptyArray(_ key: String, in bytes: [UInt8]) -> Bool {
        guard let member = member(key), bytes[member.valueRange.lowerBound] == UInt8(ascii: "[") else { return false }
        let reader = Reader(bytes: bytes, end: member.valueRange.upperBound)
        let next = reader.skipSpace(member.valueRange.lowerBound + 1)
        return next < bytes.count && bytes[next] == UInt8(ascii: "]")
    }
}

/// The recursive-descent validator behind `JSONObjectScan`.
private struct Reader {
    let bytes: [UInt8]
    let end: Int
    static let maxDepth = 128

    static func startsValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    func skipSpace(_ start: Int) -> Int {
        var i = start
        while i < end {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return i
            }
        }
        return i
    }

    /// One past the value starting at `i`.
    func value(_ i: Int, depth: Int) throws(JSONScanError) -> Int {
        guard depth <= Self.maxDepth else { throw .tooDeep }
        guard i < end else { throw .malformed(offset: i) }
        switch bytes[i] {
        case UInt8(ascii: "\""): return try string(i)
        case UInt8(ascii: "{"): return try container(i, close: UInt8(ascii: "}"), keyed: true, depth: depth)
        case UInt8(ascii: "["): return try container(i, close: UInt8(ascii: "]"), keyed: false, depth: depth)
        case UInt8(ascii: "t"): return try literal(i, "true")
        case UInt8(ascii: "f"): return try literal(i, "false")
        case UInt8(ascii: "n"): return try literal(i, "null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number(i)
        default: throw .malformed(offset: i)
        }
    }

    func container(_ start: Int, close: UInt8, keyed: Bool, depth: Int) throws(JSONScanError) -> Int {
        var i = skipSpace(start + 1)
        if i < end, bytes[i] == close { return i + 1 }
        while true {
            if keyed {
                guard i < end, bytes[i] == UInt8(ascii: "\"") else { throw .malformed(offset: i) }
                i = skipSpace(try string(i))
                guard i < end, bytes[i] == UInt8(ascii: ":") else { throw .malformed(offset: i) }
                i = skipSpace(i + 1)
            }
            i = skipSpace(try value(i, depth: depth + 1))
            guard i < end else { throw .malformed(offset: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i = skipSpace(i + 1)
            } else if bytes[i] == close {
                return i + 1
            } else {
                throw .malformed(offset: i)
            }
        }
    }

    /// One past the closing quote of the string starting at `start`.
    func string(_ start: Int) throws(JSONScanError) -> Int {
        var i = start + 1
        while i < end {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") { return i + 1 }
            if byte < 0x20 { throw .malformed(offset: i) }
            if byte == UInt8(ascii: "\\") {
                guard i + 1 < end else { throw .malformed(offset: i) }
                switch bytes[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 5 < end, bytes[(i + 2)...(i + 5)].allSatisfy({ $0.isHexDigit }) else {
                        throw .malformed(offset: i)
                    }
                    i += 6
                default: throw .malformed(offset: i)
                }
            } else {
                i += 1
            }
        }
        throw .malformed(offset: i)
    }

    func literal(_ i: Int, _ word: StaticString) throws(JSONScanError) -> Int {
        let count = word.utf8CodeUnitCount
        guard i + count <= end else { throw .malformed(offset: i) }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[i + $0] == expected[$0] }
        }
        guard matches else { throw .malformed(offset: i) }
        return i + count
    }

    func number(_ start: Int) throws(JSONScanError) -> Int {
        var i = start
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        func digits(_ from: Int) -> Int {
            var j = from
            while j < end, bytes[j] >= UInt8(ascii: "0"), bytes[j] <= UInt8(ascii: "9") { j += 1 }
            return j
        }
        guard i < end, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else { throw .malformed(offset: i) }
        i = bytes[i] == UInt8(ascii: "0") ? i + 1 : digits(i)
        if i < end, bytes[i] == UInt8(ascii: ".") {
            let after = digits(i + 1)
            guard after > i + 1 else { throw .malformed(offset: i) }
            i = after
        }
        if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let after = digits(i)
            guard after > i else { throw .malformed(offset: i) }
            i = after
        }
        return i
    }

    /// The text of the string literal at `range` (quotes included), escapes resolved.
    mutating func decodeString(_ range: Range<Int>) throws(JSONScanError) -> String {
        let inner = bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        // Rare path: let Foundation resolve escapes (surrogate pairs included).
        guard
            let value = try? JSONSerialization.jsonObject(with: Data(bytes[range]), options: .fragmentsAllowed)
                as? String
        else { throw .malformed(offset: range.lowerBound) }
        return value
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
