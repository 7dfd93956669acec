#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON syntax error with the 1-based column (in bytes) where it was found.
package struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String
    package var column: Int
    /// The nesting limit was exceeded (the input may be valid JSON).
    package var tooDeep = false

    package var description: String { "\(message) at column \(column)" }
}

/// The one strict RFC 8259 reader over UTF-8 bytes, without Foundation, behind both ``JSONObjectScan`` (validate
/// and record member ranges, the proxy's hot path) and ``JSONScanner`` (build a ``JSONValue`` tree).
///
/// Each function takes the offset where its token starts and returns one past its end, so validating a value
/// allocates nothing; trees and decoded strings are built only when asked for. `skip` is the validation-only
/// descent (measured faster than `value(build: false)` on the proxy's request bodies); both throw the same errors.
package struct JSONReader {
    package let bytes: [UInt8]
    package let end: Int
    /// The deepest value allowed; the top value of a ``JSONScanner`` document is at depth 1.
    package static let maximumDepth = 128

    package init(bytes: [UInt8], end: Int? = nil) {
        self.bytes = bytes
        self.end = end ?? bytes.count
    }

    /// One object member as read: its key, its range from the key's opening quote to the end of the value, the
    /// value's range, and the value itself when a tree was asked for.
    package struct Member: Sendable {
        package var key: String
        package var range: Range<Int>
        package var valueRange: Range<Int>
        package var value: JSONValue?
    }

    package func fail(_ message: String, at offset: Int) -> JSONSyntaxError {
        JSONSyntaxError(message: message, column: offset + 1)
    }

    package static func startsValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "t"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    package func skipSpace(_ start: Int) -> Int {
        var i = start
        while i < end {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return i
            }
        }
        return i
    }

    /// One past the value starting at `i`, and the value itself when `build`.
    package func value(_ i: Int, depth: Int, build: Bool) throws(JSONSyntaxError) -> (end: Int, value: JSONValue?) {
        guard depth <= Self.maximumDepth else {
            var error = fail("nesting deeper than \(Self.maximumDepth)", at: i)
            error.tooDeep = true
            throw error
        }
        guard i < end else { throw fail("unexpected end of input", at: i) }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            let (next, members) = try object(i, depth: depth, keys: build, build: build)
            return (next, build ? .object(members.map { JSONMember($0) }) : nil)
        case UInt8(ascii: "["): return try array(i, depth: depth, build: build)
        case UInt8(ascii: "\""):
            if !build { return (try string(i), nil) }
            let (next, text) = try decodeString(i)
            return (next, .string(text))
        case UInt8(ascii: "t"): return (try literal(i, "true"), build ? .bool(true) : nil)
        case UInt8(ascii: "f"): return (try literal(i, "false"), build ? .bool(false) : nil)
        case UInt8(ascii: "n"): return (try literal(i, "null"), build ? .null : nil)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let next = try number(i)
            return (next, build ? .number(String(decoding: bytes[i..<next], as: UTF8.self)) : nil)
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[i])))'", at: i)
        }
    }

    /// One past the value starting at `i`, validated without building anything (the proxy's hot path).
    package func skip(_ i: Int, depth: Int) throws(JSONSyntaxError) -> Int {
        guard i < end, depth <= Self.maximumDepth else { return try value(i, depth: depth, build: false).end }
        switch bytes[i] {
        case UInt8(ascii: "\""): return try string(i)
        case UInt8(ascii: "{"): return try skipContainer(i, close: UInt8(ascii: "}"), depth: depth)
        case UInt8(ascii: "["): return try skipContainer(i, close: UInt8(ascii: "]"), depth: depth)
        default: return try value(i, depth: depth, build: false).end
        }
    }

    /// One past the object or array whose opening byte is at `start`, validated.
    private func skipContainer(_ start: Int, close: UInt8, depth: Int) throws(JSONSyntaxError) -> Int {
        let keyed = close == UInt8(ascii: "}")
        var i = skipSpace(start + 1)
        if i < end, bytes[i] == close { return i + 1 }
        while true {
            i = skipSpace(i)
            if keyed {
                guard i < end, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted object key", at: i) }
                i = skipSpace(try string(i))
                guard i < end, bytes[i] == UInt8(ascii: ":") else {
                    throw fail("expected ':' after an object key", at: i)
                }
                i = skipSpace(i + 1)
            }
            let (next, closed) = try separator(
                try skip(i, depth: depth + 1), close: close, in: keyed ? "an object" : "an array")
            if closed { return next }
            i = next
        }
    }

    /// The object whose `{` is at `start`: one past its `}`, and its members when `keys` (with their values when
    /// `build`); member values are at `depth + 1`.
    package func object(
        _ start: Int, depth: Int, keys: Bool, build: Bool
    ) throws(JSONSyntaxError) -> (end: Int, members: [Member]) {
        var members: [Member] = []
        if keys { members.reserveCapacity(8) }
        let close = try walkMembers(start, depth: depth, keys: keys, build: build) { keyStart, _, key, value, built in
            guard let key else { return }
            members.append(Member(key: key, range: keyStart..<value.upperBound, valueRange: value, value: built))
        }
        return (close, members)
    }

    /// Visits the members of the object whose `{` is at `start` without building anything: each key's bytes between
    /// its quotes (`escaped` when they hold an escape, to be decoded before comparing) and its value's range, in
    /// document order; returns one past the `}`. Validates exactly as ``object(_:depth:keys:build:)`` does.
    package func visitMembers(
        _ start: Int, depth: Int, _ visit: (_ key: Range<Int>, _ escaped: Bool, _ value: Range<Int>) -> Void
    ) throws(JSONSyntaxError) -> Int {
        try walkMembers(start, depth: depth, keys: false, build: false) { keyStart, keyEnd, _, value, _ in
            let key = (keyStart + 1)..<(keyEnd - 1)
            visit(key, plainRun(from: key.lowerBound) != key.upperBound, value)
        }
    }

    /// The one walk over an object's members, validating: for each, where its key's opening quote is and one past
    /// its closing one, the key decoded (when `keys`), the value's range and the value built (when `build`).
    @inline(__always)
    private func walkMembers(
        _ start: Int, depth: Int, keys: Bool, build: Bool,
        _ visit: (_ keyStart: Int, _ keyEnd: Int, _ key: String?, _ value: Range<Int>, _ built: JSONValue?) -> Void
    ) throws(JSONSyntaxError) -> Int {
        var i = skipSpace(start + 1)
        if i < end, bytes[i] == UInt8(ascii: "}") { return i + 1 }
        while true {
            i = skipSpace(i)
            guard i < end, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted object key", at: i) }
            let keyStart = i
            var key: String? = nil
            if keys { (i, key) = try decodeString(i) } else { i = try string(i) }
            let keyEnd = i
            i = skipSpace(i)
            guard i < end, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after an object key", at: i) }
            let valueStart = skipSpace(i + 1)
            let valueEnd: Int
            var built: JSONValue? = nil
            if build {
                (valueEnd, built) = try value(valueStart, depth: depth + 1, build: true)
            } else {
                valueEnd = try skip(valueStart, depth: depth + 1)
            }
            visit(keyStart, keyEnd, key, valueStart..<valueEnd, built)
            let (next, closed) = try separator(valueEnd, close: UInt8(ascii: "}"), in: "an object")
            if closed { return next }
            i = next
        }
    }

    /// Whether the key whose bytes (between its quotes) are at `range` is `name`: compared byte for byte, or decoded
    /// first when it holds an escape (`"prompt\u005ftokens"` is `prompt_tokens`).
    package func key(_ range: Range<Int>, escaped: Bool, is name: StaticString) -> Bool {
        if escaped {
            guard let decoded = try? decodeString(range.lowerBound - 1).text else { return false }
            return decoded.utf8.elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
        guard range.count == name.utf8CodeUnitCount else { return false }
        return bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return range.isEmpty }
            return memcmp(base + range.lowerBound, name.utf8Start, range.count) == 0
        }
    }

    func array(_ start: Int, depth: Int, build: Bool) throws(JSONSyntaxError) -> (end: Int, value: JSONValue?) {
        var elements: [JSONValue] = []
        var i = skipSpace(start + 1)
        if i < end, bytes[i] == UInt8(ascii: "]") { return (i + 1, build ? .array(elements) : nil) }
        while true {
            let (next, element) = try value(skipSpace(i), depth: depth + 1, build: build)
            if let element { elements.append(element) }
            let (after, closed) = try separator(next, close: UInt8(ascii: "]"), in: "an array")
            if closed { return (after, build ? .array(elements) : nil) }
            i = after
        }
    }

    /// After a member or element ending at `i` (whitespace allowed): one past the `,` before the next one, or one
    /// past `close` (`closed`).
    @inline(__always)
    private func separator(
        _ i: Int, close: UInt8, in container: StaticString
    ) throws(JSONSyntaxError) -> (next: Int, closed: Bool) {
        let i = skipSpace(i)
        guard i < end else { throw fail("unexpected end of input in \(container)", at: i) }
        if bytes[i] == UInt8(ascii: ",") { return (i + 1, false) }
        guard bytes[i] == close else {
            throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))' in \(container)", at: i)
        }
        return (i + 1, true)
    }

    /// One past the closing quote of the string starting at `start`, validated but not decoded.
    package func string(_ start: Int) throws(JSONSyntaxError) -> Int {
        var i = start + 1
        while true {
            i = plainRun(from: i)
            guard i < end else { throw fail("unterminated string", at: i) }
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") { return i + 1 }
            if byte < 0x20 { throw fail("control character in a string", at: i) }
            i = try escape(i)
        }
    }

    /// The first offset at or after `i` (before `end`) holding a quote, a backslash or a control character: the
    /// plain run of a string, scanned over the buffer without a bounds check per byte (strings are most of a
    /// request body's bytes: a prompt of 64 KiB is one string).
    ///
    /// Eight bytes at a time while none of them can end the run (SWAR: a byte equal to `"` or `\` leaves a zero
    /// byte after an XOR, and `(v - 0x01…) & ~v & 0x80…` is non-zero exactly when `v` has a zero byte; a byte below
    /// 0x20 makes `(w - 0x20…) & ~w & 0x80…` non-zero in the same way, and UTF-8's bytes of 0x80 and up never do),
    /// then byte by byte from the word that holds one. About 2 instructions per byte instead of 10.
    @inline(__always)
    private func plainRun(from i: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            let limit = Swift.min(end, buffer.count)
            guard let base = buffer.baseAddress else { return i }
            var j = i
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while j + 8 <= limit {
                let word = raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)
                let quotes = word ^ 0x2222_2222_2222_2222
                let backslashes = word ^ 0x5C5C_5C5C_5C5C_5C5C
                let stops =
                    ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes)
                    | ((word &- 0x2020_2020_2020_2020) & ~word)
                if stops & highs != 0 { break }
                j += 8
            }
            while j < limit {
                let byte = base[j]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return j }
                j += 1
            }
            return Swift.max(j, i)
        }
    }

    /// One past the escape whose backslash is at `i`.
    private func escape(_ i: Int) throws(JSONSyntaxError) -> Int {
        guard i + 1 < end else { throw fail("unterminated string", at: i + 1) }
        switch bytes[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 2
        case UInt8(ascii: "u"):
            _ = try hex4(i + 2)
            return i + 6
        default: throw fail("invalid escape in a string", at: i + 2)
        }
    }

    /// The four hex digits at `i` as a number.
    private func hex4(_ i: Int) throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= end else { throw fail("invalid \\u escape", at: i) }
        var value: UInt32 = 0
        for j in i..<(i + 4) {
            let byte = bytes[j]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape", at: j)
            }
            value = value * 16 + digit
        }
        return value
    }

    /// The string starting at `start`, escapes resolved (a lone surrogate becomes U+FFFD), and one past its end.
    package func decodeString(_ start: Int) throws(JSONSyntaxError) -> (end: Int, text: String) {
        // Fast path: no escapes.
        var i = plainRun(from: start + 1)
        if i < end, bytes[i] == UInt8(ascii: "\"") {
            return (i + 1, String(decoding: bytes[(start + 1)..<i], as: UTF8.self))
        }
        var out = Array(bytes[(start + 1)..<i])
        while true {
            guard i < end else { throw fail("unterminated string", at: i) }
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "\""):
                return (i + 1, String(decoding: out, as: UTF8.self))
            case UInt8(ascii: "\\"):
                let next = try escape(i)
                switch bytes[i + 1] {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(i + 2)
                    i = next
                    if (0xD800..<0xDC00).contains(scalar), i + 1 < end, bytes[i] == UInt8(ascii: "\\"),
                        bytes[i + 1] == UInt8(ascii: "u")
                    {
                        // A high surrogate pairs only with a low one; otherwise it is lone (U+FFFD) and the
                        // next escape is read on its own, as `string(_:)` validates it.
                        let low = try hex4(i + 2)
                        if (0xDC00..<0xE000).contains(low) {
                            i += 6
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                    }
                    out.append(contentsOf: String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
                    continue
                default: out.append(bytes[i + 1])
                }
                i = next
            case 0x00..<0x20:
                throw fail("control character in a string", at: i)
            default:
                out.append(byte)
                i += 1
            }
        }
    }

    /// One past the literal `word` at `i`.
    func literal(_ i: Int, _ word: StaticString) throws(JSONSyntaxError) -> Int {
        let mismatch: Int? = word.withUTF8Buffer { expected in
            for k in 0..<expected.count where i + k >= end || bytes[i + k] != expected[k] { return i + k }
            return nil
        }
        if let mismatch { throw fail("invalid literal, expected '\(word)'", at: mismatch) }
        return i + word.utf8CodeUnitCount
    }

    /// One past the number starting at `start`.
    func number(_ start: Int) throws(JSONSyntaxError) -> Int {
        func digits(_ from: Int) -> Int {
            var j = from
            while j < end, bytes[j] >= UInt8(ascii: "0"), bytes[j] <= UInt8(ascii: "9") { j += 1 }
            return j
        }
        var i = start
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < end, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else {
            throw fail("invalid number", at: i)
        }
        i = bytes[i] == UInt8(ascii: "0") ? i + 1 : digits(i)
        if i < end, bytes[i] == UInt8(ascii: ".") {
            let after = digits(i + 1)
            guard after > i + 1 else { throw fail("invalid number: digits must follow '.'", at: i + 1) }
            i = after
        }
        if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let after = digits(i)
            guard after > i else { throw fail("invalid number exponent", at: i) }
            i = after
        }
        return i
    }
}
