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
