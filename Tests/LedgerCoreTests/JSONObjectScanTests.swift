import Foundation
import LedgerCore
import Testing

@Suite struct JSONObjectScanTests {
    @Test func recordsMembersInOrderWithTheirValueRanges() throws {
        let bytes = Array(#" {"k\u0065y": "v\n", "n": -1.5e3, "o": {"x": [true, null]}, "key": false} "#.utf8)
        let scan = try JSONObjectScan(bytes)
        #expect(scan.members.map(\.key) == ["key", "n", "o", "key"])
        #expect(String(decoding: bytes[scan.members[1].valueRange], as: UTF8.self) == "-1.5e3")
        #expect(scan.range == 1..<(bytes.count - 1))
        #expect(scan.bool("key", in: bytes) == false)
        #expect(scan.object("o", in: bytes)?.members.map(\.key) == ["x"])
        let first = try JSONObjectScan(Array(#"{"s": "a\"\u00e9\ud83d\ude00"}"#.utf8))
        #expect(first.string("s", in: Array(#"{"s": "a\"\u00e9\ud83d\ude00"}"#.utf8)) == "a\"é😀")
    }

    /// `int64` reads digits from the bytes; it must agree with `Int64(String)` on every value a scan can hold,
    /// including the edges of Int64's range and what is not an integer.
    @Test func int64AgreesWithTheStandardLibrary() throws {
        var values = [
            "0", "-0", "7", "-7", "42", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "-9223372036854775809", "18446744073709551616", "99999999999999999999", "1.0", "1e3", "-1.5e3", "0.5",
            #""12""#, "true", "false", "null", "[1]", "{}",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 { values.append(String(Int64.random(in: .min ... .max, using: &generator))) }
        for _ in 0..<200 { values.append(String(Int64.random(in: -1000...1000, using: &generator))) }
        for value in values {
            let bytes = Array("{\"n\": \(value)}".utf8)
            let scan = try JSONObjectScan(bytes)
            #expect(scan.int64("n", in: bytes) == Int64(value), "\(value)")
        }
    }

    /// Strings are scanned eight bytes at a time: whatever ends or breaks one (a quote, an escape, a control
    /// character), at every offset from a word boundary and after long plain runs, is found exactly where
    /// Foundation's JSONSerialization finds it.
    @Test func stringsAgreeWithFoundationAtEveryOffsetOfAWord() throws {
        let specials = ["\"", "\\n", "\\\"", "\\u00e9", "\u{01}", "\u{1F}", "\u{7F}", "é", "😀", "\\x", "\\"]
        for prefix in 0..<20 {
            for suffix in [0, 1, 7, 8, 9, 40] {
                for special in specials {
                    let text =
                        #"{"s":""# + String(repeating: "a", count: prefix) + special
                        + String(repeating: "b", count: suffix) + #"","t":1}"#
                    let bytes = Array(text.utf8)
                    let foundation = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
                    let scan = try? JSONObjectScan(bytes)
                    #expect((scan != nil) == (foundation != nil), "\(text)")
                    if let scan, let foundation {
                        #expect(scan.string("s", in: bytes) == foundation["s"] as? String, "\(text)")
                        #expect(scan.int64("t", in: bytes) == 1, "\(text)")
                    }
                }
            }
        }
    }

    @Test func rejectsWhatTheTreeParserRejects() {
        let inputs = [
            #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":[01]}"#, "{\"a\":\"tab\u{09}\"}", #"{"a":1} x"#, #"{"a":tru}"#,
            #"{"a":1.}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":1e}"#, #"{"a":-}"#, #"{"a":"x"#, #"{"a":1"#,
            #"{"a":1, "b":[1,]}"#, #"{"a":{}}"#, #"{"a":[]}"#, #"{}"#, #"{"a":"\/\b\f\n\r\t"}"#,
            #"{"a":{"b" 1}}"#, #"{"a":{"b":1,}}"#, #"{"a":[1 2]}"#, #"{"a":[{"b":[true,{}]}, "\u00e9"]}"#,
            #"{"a":{"b":[1,2}}"#, #"{"a":[1,{"b":x}]}"#,
        ]
        for text in inputs {
            let tree = Result { () throws(JSONSyntaxError) in try JSONScanner.parse(text) }
            let scan = Result { () throws(JSONScanError) in try JSONObjectScan(Array(text.utf8)) }
            switch (tree, scan) {
            case (.success, .success): break
            case (.failure(let syntax), .failure(.malformed(let offset))):
                #expect(syntax.column == offset + 1, "\(text)")
            default: Issue.record("the two front ends disagree on \(text)")
            }
        }
        #expect(throws: JSONScanError.notAnObject) { try JSONObjectScan(Array("[1]".utf8)) }
        #expect(throws: JSONScanError.malformed(offset: 0)) { try JSONObjectScan(Array("}".utf8)) }
    }

    @Test func nestingLimitsAreKept() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        }
        _ = try JSONScanner.parse(nested(128))
        #expect(throws: JSONSyntaxError.self) { try JSONScanner.parse(nested(129)) }
        do {
            _ = try JSONScanner.parse(nested(129))
        } catch {
            #expect(error.description == "nesting deeper than 128 at column 129")
        }
        _ = try JSONObjectScan(Array("{\"a\":\(nested(128))}".utf8))
        #expect(throws: JSONScanError.tooDeep) { try JSONObjectScan(Array("{\"a\":\(nested(129))}".utf8)) }
    }
}
