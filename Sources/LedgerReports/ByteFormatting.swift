import LedgerCore

/// Appending numbers, timestamps and amounts to a byte buffer without making Strings: the export writes ~35
/// fields per call for millions of calls.
extension Array where Element == UInt8 {
    /// A signed decimal integer.
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            // -Int64.min overflows; its magnitude as UInt64 does not.
            appendUnsigned(UInt64(bitPattern: 0 &- value))
        } else {
            appendUnsigned(UInt64(value))
        }
    }

    mutating func appendUnsigned(_ value: UInt64, minimumDigits: Int = 1) {
        // Most significant digit first, by powers of ten: no temporary storage, no allocation.
        var digits = 1
        while digits < 20, value >= powersOfTen[digits] { digits += 1 }
        if digits < minimumDigits { digits = minimumDigits }
        var index = digits - 1
        while index >= 0 {
            let power = index < 20 ? powersOfTen[index] : 0
            append(power == 0 ? UInt8(ascii: "0") : UInt8(ascii: "0") + UInt8((value / power) % 10))
            index -= 1
        }
    }

    /// "2026-11-01T12:00:00.000001Z" for microseconds since the epoch (UTC).
    mutating func appendISOTimestamp(micros: Int64) {
        let day = UTCDate.floorDiv(micros, UTCDate.microsPerDay)
        let c = UTCDate.civil(days: day)
        var rest = micros - day * UTCDate.microsPerDay
        let us = rest % 1_000_000
        rest /= 1_000_000
        appendUnsigned(UInt64(c.year), minimumDigits: 4)
        append(UInt8(ascii: "-"))
        appendUnsigned(UInt64(c.month), minimumDigits: 2)
        append(UInt8(ascii: "-"))
        appendUnsigned(UInt64(c.day), minimumDigits: 2)
        append(UInt8(ascii: "T"))
        appendUnsigned(UInt64(rest / 3600), minimumDigits: 2)
        append(UInt8(ascii: ":"))
        appendUnsigned(UInt64(rest / 60 % 60), minimumDigits: 2)
        append(UInt8(ascii: ":"))
        appendUnsigned(UInt64(rest % 60), minimumDigits: 2)
        append(UInt8(ascii: "."))
        appendUnsigned(UInt64(us), minimumDigits: 6)
        append(UInt8(ascii: "Z"))
    }

    /// Exact USD with 12 decimals ("0.004900000000") for a pico-USD amount: the same text as `Money.exactUSDString`.
    mutating func appendPicoUSD(_ pico: Int64) {
        let magnitude = pico < 0 ? UInt64(bitPattern: 0 &- pico) : UInt64(pico)
        if pico < 0 { append(UInt8(ascii: "-")) }
        appendUnsigned(magnitude / 1_000_000_000_000)
        append(UInt8(ascii: "."))
        appendUnsigned(magnitude % 1_000_000_000_000, minimumDigits: 12)
    }

    /// A CSV text field from UTF-8 bytes, neutralised and quoted exactly as `CSVRenderer.field`.
    mutating func appendCSVField(_ bytes: UnsafeBufferPointer<UInt8>) {
        let first = bytes.first
        let neutralise =
            first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
            || first == UInt8(ascii: "@") || first == 9 || first == 13
        let quote =
            neutralise || bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 13 || $0 == 10 }
        guard quote else {
            append(contentsOf: bytes)
            return
        }
        append(UInt8(ascii: "\""))
        if neutralise { append(UInt8(ascii: "'")) }
        for b in bytes {
            if b == UInt8(ascii: "\"") { append(b) }
            append(b)
        }
        append(UInt8(ascii: "\""))
    }

    /// A JSON string literal from UTF-8 bytes (RFC 8259 escapes), as `JSONRenderer.string`.
    mutating func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>) {
        // Most fields need no escape: copy them whole (export speed); otherwise the one shared escaper.
        if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            append(UInt8(ascii: "\""))
            append(contentsOf: bytes)
            append(UInt8(ascii: "\""))
            return
        }
        JSONString.appendQuoted(bytes, to: &self)
    }
}

/// 10^0 ... 10^19 (the last fits UInt64).
private let powersOfTen: [UInt64] = (0..<20).map { n in (0..<n).reduce(UInt64(1)) { acc, _ in acc * 10 } }
