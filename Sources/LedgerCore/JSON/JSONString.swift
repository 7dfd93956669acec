/// The one JSON string-literal writer (RFC 8259): quotes, backslashes and control characters escaped; `\n`, `\r`
/// and `\t` short, the other controls as `\u00XX`; everything else (non-ASCII included) passed through as UTF-8.
package enum JSONString {
    /// `text` as a JSON string literal.
    package static func quote(_ text: String) -> String {
        String(decoding: quotedBytes(text), as: UTF8.self)
    }

    /// `text` as a JSON string literal, in UTF-8.
    package static func quotedBytes(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text.utf8, to: &out)
        return out
    }

    /// Appends the JSON string literal of the UTF-8 `bytes` to `out` (inlinable: the export calls it per field).
    @inlinable
    package static func appendQuoted(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                let low = byte & 0x0F
                out.append(UInt8(ascii: "0") + (byte >> 4))
                out.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
