import LedgerCore
import Testing

@Suite struct ByteSearchTests {
    private func offset(_ needle: String, in haystack: String, from: Int = 0) -> Int? {
        Array(haystack.utf8).firstOffset(of: Array(needle.utf8), from: from)
    }

    @Test func findsTheFirstOccurrenceAtOrAfterTheStart() {
        #expect(offset("ab", in: "xxabyab") == 2)
        #expect(offset("ab", in: "xxabyab", from: 3) == 5)
        #expect(offset("ab", in: "xxabyab", from: 5) == 5)
        #expect(offset("yab", in: "xxabyab") == 4)  // ends at the last byte
        #expect(offset("aab", in: "aaab") == 1)  // a partial match first
    }

    @Test func nothingWhenAbsentEmptyTooLongOrPastTheEnd() {
        #expect(offset("ba", in: "xxabyab") == nil)
        #expect(offset("", in: "abc") == nil)
        #expect(offset("abcd", in: "abc") == nil)
        #expect(offset("c", in: "abc", from: 3) == nil)
        #expect(offset("c", in: "abc", from: 9) == nil)
        #expect(offset("a", in: "") == nil)
    }
}

@Suite struct ByteFindTests {
    @Test func findsAByteInsideTheRangeOnly() {
        let bytes = Array("ab\ncd\n".utf8)
        #expect(bytes.firstOffset(of: 0x0A, from: 0, to: bytes.count) == 2)
        #expect(bytes.firstOffset(of: 0x0A, from: 3, to: bytes.count) == 5)
        #expect(bytes.firstOffset(of: 0x0A, from: 3, to: 5) == nil)
        #expect(bytes.firstOffset(of: 0x0A, from: 6, to: 6) == nil)
        #expect(bytes.firstOffset(of: 0x0A, from: 0, to: 99) == nil)
        #expect([UInt8]().firstOffset(of: 0x0A, from: 0, to: 0) == nil)
    }

    @Test func findsNeedlesAcrossAWholeEvent() {
        let event = Array(#"data: {"id":"x","usage":{"prompt_tokens":1}}"#.utf8)
        #expect(event.firstOffset(of: Array(#""usage""#.utf8)) == 16)
        #expect(event.firstOffset(of: Array(#""usage""#.utf8), from: 17) == nil)
        #expect(event.firstOffset(of: Array("}}".utf8)) == event.count - 2)
    }
}
