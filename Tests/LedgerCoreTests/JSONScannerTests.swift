import Testing

@testable import LedgerCore

@Suite struct JSONScannerTests {
    @Test func parsesValuesAndKeepsNumbersAsWritten() throws {
        let value = try JSONScanner.parse(
            #" {"a": [1, -0.5e+2, true, false, null], "s": "q\"\\\/\n\u00e9\ud83d\ude00"} "#)
        #expect(value["a"] == .array([.number("1"), .number("-0.5e+2"), .bool(true), .bool(false), .null]))
        #expect(value["s"]?.stringValue == "q\"\\/\né😀")
    }

    /// Found by the JSONReader fuzz target: a high surrogate followed by an escape that is not a low surrogate was
    /// accepted by the validating skip but refused by the decoder. It is a lone surrogate (U+FFFD), and the escape
    /// after it is its own character.
    @Test func loneHighSurrogateBeforeAnotherEscapeDecodesAsReplacement() throws {
        let text = #"{"s":"h\ud83d\u0ed1832"}"#
        let value = try JSONScanner.parse(text)
        #expect(value["s"]?.stringValue == "h\u{FFFD}\u{0ED1}832")
        let bytes = Array(text.utf8)
        let reader = JSONReader(bytes: bytes)
        #expect(try reader.skip(0, depth: 0) == bytes.count)
        #expect(try reader.value(0, depth: 0, build: true).end == bytes.count)
    }

    @Test(arguments: [
        (#"{"a":1,}"#, "expected a quoted object key at column 8"),
        (#"{"a" 1}"#, "expected ':' after an object key at column 6"),
        (#"[01]"#, "expected ',' or ']' in an array at column 3"),
        ("\"tab\u{09}here\"", "control character in a string at column 5"),
        (#"{"a":1} x"#, "unexpected text after the JSON value at column 9"),
        (#"tru"#, "invalid literal, expected 'true' at column 4"),
        (#"1."#, "invalid number: digits must follow '.' at column 3"),
    ])
    func rejectsMalformedInputWithItsColumn(text: String, message: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONScanner.parse(text) }
        do {
            _ = try JSONScanner.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }
}
