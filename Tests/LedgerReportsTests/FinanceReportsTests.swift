import Foundation
import GRDB
import LedgerCore
import LedgerReports
import LedgerStore
import Testing

/// Reports for people (headers, separators, headline), reconciliation, month close and the query parser.
@Suite struct FinanceReportsTests {
    static let now = UTCDate.micros(parsing: "2026-12-15T00:00:00Z")!

    static func monthRequest(_ format: ReportFormat, by: ReportGrouping = .model) -> ReportRequest {
        ReportRequest(span: .month(ReportFixture.november), grouping: by, format: format)
    }

    static func text(_ request: ReportRequest, _ database: LedgerDatabase) throws -> String {
        String(decoding: try request.render(database: database, nowMicros: now), as: UTF8.self)
    }

    @Test(arguments: [
        ("0", "0"), ("12", "12"), ("123", "123"), ("1234", "1,234"), ("1234567.89", "1,234,567.89"),
        ("-1234", "-1,234"), ("-123456.5", "-123,456.5"), ("999999", "999,999"),
    ])
    func thousandsSeparators(plain: String, human: String) {
        #expect(ReportTable.Cell.grouped(plain) == human)
    }

    @Test func theDefaultTableFitsOneHundredColumnsWithHumanHeaders() throws {
        let database = try ReportFixture.ledger()
        let text = try Self.text(Self.monthRequest(.table), database)
        let widest = text.split(separator: "\n").map(\.count).max() ?? 0
        #expect(widest <= 100, "widest line \(widest)")
        for header in ["Paid", "Official", "Saved", "Calls"] { #expect(text.contains(header)) }
        #expect(!text.contains("cached_input_tokens"))
        #expect(!text.contains("unpriced_calls"))
        // --columns all brings every column back, with human names.
        var all = Self.monthRequest(.table)
        all.columns = .all
        let wide = try Self.text(all, database)
        #expect(wide.contains("Unpriced") && wide.contains("Fallback"))
        // An unknown column is refused with the list of known ones.
        var bad = Self.monthRequest(.table)
        bad.columns = .named(["nope"])
        #expect(throws: ReportError.self) { try bad.render(database: database, nowMicros: Self.now) }
    }

    @Test func csvAndJSONKeepTheMachineHeaders() throws {
        let database = try ReportFixture.ledger()
        let csv = try Self.text(Self.monthRequest(.csv), database)
        #expect(csv.hasPrefix("model,calls,failed_calls,no_usage_calls,unpriced_calls,input_tokens,"))
        #expect(!csv.contains("Paid (USD)"))
        let json = try Self.text(Self.monthRequest(.json), database)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((object["columns"] as? [String])?.contains("cost_paid_usd") == true)
        let headline = try #require(object["headline"] as? [String: Any])
        #expect(headline["period"] as? String == "2026-11")
        #expect(headline["previous_period"] as? String == "2026-10")
    }

    /// The headline's money equals the TOTAL row's cells; its change compares with the previous month.
    @Test func theHeadlineMatchesTheTotalAndComparesWithThePreviousPeriod() throws {
        let database = try ReportFixture.ledger()
        let octoberPeriod = ReportPeriod(month: try BillingMonth(year: 2026, month: 10))
        let before = try MonthlyCostReport.make(period: octoberPeriod, grouping: .model, database: database).total
        // One more call in October, so the change depends on October's figures.
        var october = ReportFixture.events()[0]
        october.id = 999
        october.startedAtMicros -= 20 * UTCDate.microsPerDay
        october.finishedAtMicros -= 20 * UTCDate.microsPerDay
        try database.insert([october])
        let (table, _, _) = try Self.monthRequest(.csv).build(database: database, nowMicros: Self.now)
        let headline = try #require(table.headline)
        let total = try #require(table.footer.first)
        let paidIndex = try #require(table.columns.firstIndex { $0.name == "cost_paid_usd" })
        let officialIndex = try #require(table.columns.firstIndex { $0.name == "cost_official_usd" })
        let figure = { (key: String) in headline.figures.first { $0.key == key }! }
        #expect(figure("paid_usd").value == total[paidIndex])
        #expect(figure("official_usd").value == total[officialIndex])
        let previous = try MonthlyCostReport.make(period: octoberPeriod, grouping: .model, database: database).total
        #expect(figure("calls").previous == .integer(Int128(previous.calls)))
        #expect(previous.calls == before.calls + 1)
        let calls = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: database
        ).total.calls
        #expect(figure("calls").change == .integer(Int128(calls - previous.calls)))
        guard case .decimal(let pct, 1) = figure("calls").changePct else {
            Issue.record("calls change % missing")
            return
        }
        #expect(pct == Money.divideHalfEven(Int128(calls - previous.calls) * 1000, by: Int128(previous.calls)))
        // Table, Markdown and HTML all start with it.
        for format in [ReportFormat.table, .markdown, .html] {
            let text = try Self.text(Self.monthRequest(format), database)
            #expect(text.contains("vs 2026-10") || text.contains("2026-10"), "\(format)")
            let headlineAt = try #require(text.range(of: "Paid (USD)")).lowerBound
            let notesAt = try #require(text.range(of: "period: 2026-11-01")).lowerBound
            #expect(headlineAt < notesAt, "\(format): the headline comes first")
        }
    }

    @Test func rangesCompareWithThePeriodOfTheSameLengthBefore() throws {
        let period = try ReportPeriod(from: "2026-11-08", to: "2026-11-15")
        #expect(period.previous.fromDate == "2026-11-01")
        #expect(period.previous.lastDate == "2026-11-07")
        #expect(ReportPeriod(year: 2026).previous.shortLabel == "2025")
        #expect(ReportPeriod(month: try BillingMonth(year: 2026, month: 1)).previous.shortLabel == "2025-12")
    }
}

@Suite struct ChartTicksTests {
    /// (largest value in cents, expected step in cents, expected steps)
    @Test(arguments: [
        (Int128(0), Int128(1), 1), (1, 1, 1), (3, 1, 3), (5, 1, 5), (6, 2, 3), (11, 5, 3), (271, 100, 3),
        (1686, 500, 4), (2001, 500, 5), (2501, 1000, 3), (99_999, 20_000, 5), (100_001, 50_000, 3),
    ])
    func ticksAreNiceNumbersAtTheScaleOfTheData(max: Int128, step: Int128, count: Int) {
        let t = HTMLRenderer.Ticks(maxValue: max)
        #expect(t.step == step && t.count == count)
        #expect(t.top >= max && t.count <= 5)
    }

    @Test func labelsNeverRepeatAndDropCentsAtWholeSteps() {
        let small = HTMLRenderer.Ticks(maxValue: 3)
        let labels = (0...small.count).map { small.label(small.step * Int128($0)) }
        #expect(labels == ["0.00", "0.01", "0.02", "0.03"])
        let large = HTMLRenderer.Ticks(maxValue: 1_686)
        #expect((0...large.count).map { large.label(large.step * Int128($0)) } == ["0", "5", "10", "15", "20"])
        let huge = HTMLRenderer.Ticks(maxValue: 250_000_00)
        #expect(huge.label(huge.top) == "250,000")
    }

    @Test func chartsShowFullModelNames() {
        let name = "claude-sonnet-4-5-20250929-extended"
        let svg = HTMLRenderer.render(
            ReportTable(title: "t", notes: [], columns: [.init("model", numeric: false)], rows: [], footer: []),
            charts: [.pairedBars(title: "c", labels: [name], first: ("a", [5]), second: ("b", [3]))])
        #expect(svg.contains(">\(name)</text>"))
    }
}
