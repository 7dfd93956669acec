import Foundation
import GRDB
import LedgerCore
import LedgerReports
import LedgerStore
import Testing

@Suite struct AnnualReportTests {
    @Test func aPastYearHasTwelveMonthsAndTheirTotal() throws {
        let database = try ReportFixture.ledger()
        let now = UTCDate.micros(parsing: "2027-03-01")!
        let report = try AnnualReport.make(year: 2026, nowMicros: now, database: database)
        #expect(report.rows.count == 12)
        #expect(report.projection == nil)
        let calls: [Int64] = report.rows.map { $0.figures.calls }
        #expect(calls == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 14, 1])
        let november = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: database)
        var novemberRow = report.rows[10].figures
        novemberRow.p95LatencyMicros = november.total.p95LatencyMicros
        #expect(novemberRow == november.total)
        #expect(report.total.calls == 16)
        let table = report.table(currency: .usd)
        #expect(table.footer.count == 1)
        let labels: [ReportTable.Cell] = table.rows.map { $0[0] }
        let expected: [ReportTable.Cell] = (1...12).map { (m: Int) -> ReportTable.Cell in
            .text(m < 10 ? "2026-0\(m)" : "2026-\(m)")
        }
        #expect(labels == expected)
    }

    @Test func theCurrentYearShowsTheMonthsSoFarAndAnAnnualisedProjection() throws {
        let database = try ReportFixture.ledger()
        // Halfway through the year to the second: 2026-07-02T12:00:00Z is 182.5 days into 365.
        let now = UTCDate.micros(parsing: "2026-07-02T12:00:00Z")!
        let report = try AnnualReport.make(year: 2026, nowMicros: now, database: database)
        #expect(report.rows.prefix(7).map(\.month.month) == Array(1...7))
        // Calls recorded after "now" still show (clock skew): October, November, December follow.
        #expect(report.rows.map(\.month.month) == Array(1...7) + [10, 11, 12])
        let p = try #require(report.projection)
        #expect(p.yearSeconds == 365 * 86_400)
        #expect(p.elapsedSeconds == 182 * 86_400 + 43_200)
        let table = report.table(currency: .usd)
        let projection = try #require(table.footer.last)
        #expect(projection[0] == .text("annualised"))
        let officialIndex = try #require(table.columns.firstIndex { $0.name == "cost_official_usd" })
        // Exactly twice the total so far, rounded once.
        let twice: Int128 = Money.divideHalfEven(report.total.official.picoUSD * 2, by: Money.picoPerCent)
        #expect(projection[officialIndex] == ReportTable.Cell.decimal(twice, scale: 2))
    }
}

@Suite struct ReportInputTests {
    @Test func groupingsParseAndBadOnesAreRefused() throws {
        #expect(try ReportGrouping(parsing: "tag:project") == .tag("project"))
        #expect(try ReportGrouping(parsing: "team") == .team)
        for bad in ["teams", "tag:", "tag:a=b", "", "Model"] {
            #expect(throws: ReportError.invalidGrouping(bad)) { try ReportGrouping(parsing: bad) }
        }
    }

    @Test func rangesMustBeDatesAndNonEmpty() throws {
        let p = try ReportPeriod(from: "2026-11-01", to: "2026-12-01")
        #expect(p.wholeMonth == ReportFixture.november)
        #expect(p.lastDate == "2026-11-30")
        #expect(throws: ReportError.emptyRange(from: "2026-11-02", to: "2026-11-01")) {
            try ReportPeriod(from: "2026-11-02", to: "2026-11-01")
        }
        #expect(throws: ReportError.invalidDate("2026-02-30")) {
            try ReportPeriod(from: "2026-02-30", to: "2026-03-01")
        }
        #expect(throws: ReportError.invalidDate("2026-11-01T00:00:00Z")) {
            try ReportPeriod(from: "2026-11-01T00:00:00Z", to: "2026-12-01")
        }
    }

    @Test func currencyCodesAndRatesAreValidated() throws {
        #expect(try RateBook.currency(parsing: "THB") == "THB")
        #expect(throws: ReportError.invalidCurrency("thb")) { try RateBook.currency(parsing: "thb") }
        #expect(try RateBook.rate(parsing: "35.50") == 35_500_000)
        #expect(throws: ReportError.invalidRate("0")) { try RateBook.rate(parsing: "0") }
        #expect(throws: ReportError.invalidRate("35.1234567")) { try RateBook.rate(parsing: "35.1234567") }
    }
}

@Suite struct RendererTests {
    static func table() throws -> ReportTable {
        try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .team, database: try ReportFixture.ledger()
        ).table(currency: .usd)
    }

    @Test func jsonIsValidAndKeepsExactNumbers() throws {
        let json = JSONRenderer.render(try Self.table())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(rows.count == 6)
        #expect(rows.contains { $0["team"] as? String == ReportFixture.hostileTeam })
        #expect(json.contains("\"cost_official_usd\":0.32"))
        #expect((object["exact"] as? [String: String])?["total_cost_official_usd"] != nil)
    }

    @Test func htmlIsSelfContainedAndEscapesNames() throws {
        let html = HTMLRenderer.render(
            try Self.table(),
            charts: [.bars(title: "t", labels: ["2026-11-01"], name: "paid", values: [5])])
        #expect(html.contains("<svg"))
        #expect(html.contains("@page { size: A4"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http"))
        #expect(html.contains("=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)"))
    }

    @Test func markdownEscapesPipesAndBoldsTheTotal() throws {
        var table = try Self.table()
        table.rows[0][0] = .text("a|b")
        let md = MarkdownRenderer.render(table)
        #expect(md.contains("| a\\|b |"))
        #expect(md.contains("| **TOTAL** |"))
    }
}
