/// Why a byte string is not the JSON the proxy expects.
package enum JSONScanError: Error, Sendable, Equatable {
    case malformed(offset: Int)
    case notAnObject
    case tooDeep

    init(_ error: JSONSyntaxError) {
        self = error.tooDeep ? .tooDeep : .malformed(offset: error.column - 1)
    }
}

/// A validating, single-pass scan of one JSON object that records where each member's key and value lie.
///
/// The proxy edits request bodies by splicing bytes at these ranges instead of decoding and re-encoding them,
/// so unknown fields, key order and number spellings reach the upstream exactly as the client sent them.
/// Member values are validated by ``JSONReader`` without building anything.
package struct JSONObjectScan: Sendable {
    /// One `"key": value` member of the object (its `value` is nil: the scan builds no tree).
    package typealias Member = JSONReader.Member

    /// The object's members in document order (duplicates kept; lookups take the last, as most parsers do).
    package private(set) var members: [Member] = []
    /// Index of the object's opening `{` and one past its closing `}`.
    package private(set) var range: Range<Int> = 0..<0

    /// Scans the object starting at `start` (leading whitespace allowed) in `bytes`.
    /// With `wholeDocument`, only whitespace may follow it.
    package init(_ bytes: [UInt8], start: Int = 0, end: Int? = nil, wholeDocument: Bool = true) throws(JSONScanError) {
        let reader = JSONReader(bytes: bytes, end: end)
        let open = reader.skipSpace(start)
        guard open < reader.end, bytes[open] == UInt8(ascii: "{") else {
            if open < reader.end, JSONReader.startsValue(bytes[open]) { throw .notAnObject }
            throw .malformed(offset: open)
        }
        do {
            let (close, scanned) = try reader.object(open, depth: 0, keys: true, build: false)
            members = scanned
            range = open..<close
        } catch {
            throw JSONScanError(error)
        }
        if wholeDocument {
            let rest = reader.skipSpace(range.upperBound)
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
        return try? JSONReader(bytes: bytes, end: member.valueRange.upperBound)
            .decodeString(member.valueRange.lowerBound).text
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
        return Self.integer(bytes[member.valueRange])
    }

    /// `digits` as an Int64: an optional `-` and decimal digits only (what `Int64(String)` accepts of a scanned
    /// JSON value: a fraction, an exponent, a string or a literal is nil), nil on overflow. Read from the bytes,
    /// without making a String of them (token counts are read a dozen times per call).
    static func integer(_ digits: ArraySlice<UInt8>) -> Int64? {
        var i = digits.startIndex
        let negative = i < digits.endIndex && digits[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard i < digits.endIndex else { return nil }
        var value: Int64 = 0
        while i < digits.endIndex {
            let digit = digits[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            // Accumulated as a negative number, whose range holds Int64.min.
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { return nil }
            value = next
            i += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
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
        let reader = JSONReader(bytes: bytes, end: member.valueRange.upperBound)
        let next = reader.skipSpace(member.valueRange.lowerBound + 1)
        return next < bytes.count && bytes[next] == UInt8(ascii: "]")
    }
}
