import LedgerCore
import Testing

@Suite struct BillingMonthTests {
    @Test func parsesAMonthIntoAHalfOpenUTCRange() throws {
        let m = try BillingMonth(parsing: "2026-11")
        #expect(UTCDate.isoTimestamp(micros: m.startMicros) == "2026-11-01T00:00:00.000000Z")
        #expect(UTCDate.isoTimestamp(micros: m.endMicros) == "2026-12-01T00:00:00.000000Z")
        #expect(m.code == 202611)
        #expect(try BillingMonth(parsing: "2026-12").next.description == "2027-01")
        #expect(try BillingMonth(parsing: "2028-02").dayCount == 29)
    }

    @Test(arguments: ["2026-13", "2026-00", "26-11", "2026/11", "2026-1", "", "abcd-ef"])
    func refusesMalformedMonths(_ text: String) {
        #expect(throws: BillingMonthError.self) { try BillingMonth(parsing: text) }
    }

    @Test func timestampsRoundTrip() throws {
        let micros = try #require(UTCDate.micros(parsing: "2026-11-30T23:59:59.999999Z"))
        #expect(UTCDate.isoTimestamp(micros: micros) == "2026-11-30T23:59:59.999999Z")
        #expect(BillingMonth(containing: micros).description == "2026-11")
        #expect(BillingMonth(containing: micros + 1).description == "2026-12")
        #expect(UTCDate.micros(parsing: "2026-02-30") == nil)
        #expect(UTCDate.isoDay(micros: -1) == "1969-12-31")
    }
}
