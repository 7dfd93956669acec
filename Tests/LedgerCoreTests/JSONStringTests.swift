import LedgerCore
import Testing

@Suite struct JSONStringTests {
    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(
            JSONString.quote("a\"b\\c\n\r\t\u{08}\u{0C}\u{01}\u{1F}/é😀")
                == #""a\"b\\c\n\r\t\u0008\u000c\u0001\u001f/é😀""#)
        #expect(JSONString.quote("") == #""""#)
        #expect(JSONString.quotedBytes("x\n") == Array(#""x\n""#.utf8))
    }

    @Test func everyQuotedStringParsesBackToItself() throws {
        let controls = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        for text in ["plain", controls, "quote \" and \\ back", "ไทย 😀 \u{7F}", "\u{2028}\u{2029}"] {
            #expect(try JSONScanner.parse(JSONString.quote(text)).stringValue == text)
        }
    }
}
