import Foundation
import GRDB
import LedgerCore
import LedgerReports
import LedgerStore
import Testing

@Suite struct MonthCloseTests {
    static let december = try! BillingMonth(year: 2026, month: 12)
    static let now = UTCDate.micros(parsing: "2026-12-10T00:00:00Z")!

    static func csv(_ month: BillingMonth, _ database: LedgerDatabase, asRecorded: Bool = false, by: ReportGrouping = .model)
        throws -> String
    {
        let request = ReportRequest(span: .month(month), grouping: by, format: .csv, asRecorded: asRecorded)
        return String(decoding: try request.render(database: database, nowMicros: now), as: UTF8.self)
    }

    /// A late call for November: gpt-4.1, recorded after the close.
    static func lateCall(id: Int64) -> UsageEvent {
        var e = ReportFixture.events()[0]
        e.id = id
        e.startedAtMicros = ReportFixture.micros(day: 29)
        e.finishedAtMicros = e.startedAtMicros + 1000
        return e
    }

    @Test func aClosedMonthKeepsItsFiguresAndLateCallsBecomeAdjustmentsInTheFirstOpenMonth() throws {
        let database = try ReportFixture.ledger()
        let before = try Self.csv(ReportFixture.november, database)
        let beforeTeam = try Self.csv(ReportFixture.november, database, by: .team)
        let decemberBefore = try Self.csv(Self.december, database)
        let close = try MonthClose.close(ReportFixture.november, nowMicros: Self.now, database: database)
        #expect(close.rowsSHA256.count == 64)
        try database.insert([Self.lateCall(id: 500)])

        // The closed month's report does not change, in any grouping.
        #expect(try Self.csv(ReportFixture.november, database) == before)
        #expect(try Self.csv(ReportFixture.november, database, by: .team) == beforeTeam)
        let closedTable = try ReportRequest(span: .month(ReportFixture.november), format: .table)
            .render(database: database, nowMicros: Self.now)
        #expect(String(decoding: closedTable, as: UTF8.self).contains("CLOSED 2026-12-10T00:00:00"))

        // December shows the late call as a labelled adjustment, counted in its TOTAL.
        let december = try Self.csv(Self.december, database)
        #expect(december != decemberBefore)
        let adjustment = try #require(
            december.split(separator: "\r\n").first { $0.hasPrefix("adjustment 2026-11: gpt-4.1,") })
        #expect(adjustment.split(separator: ",")[1] == "1")  // one call
        let late = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: database)
        let frozen = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: database,
            closed: close)
        #expect(late.total.calls == frozen.total.calls + 1)

        // --as-recorded: the rows now, the closed TOTAL and the difference.
        let recorded = try Self.csv(ReportFixture.november, database, asRecorded: true)
        let lines = recorded.split(separator: "\r\n")
        let total = try #require(lines.first { $0.hasPrefix("TOTAL,") })
        let closedTotal = try #require(lines.first { $0.hasPrefix("TOTAL as closed,") })
        let difference = try #require(lines.first { $0.hasPrefix("difference,") })
        #expect(total.split(separator: ",")[1] == Substring(String(late.total.calls)))
        #expect(closedTotal.split(separator: ",")[1] == Substring(String(frozen.total.calls)))
        #expect(difference.split(separator: ",")[1] == "1")
    }

    @Test func reopeningIsRecordedAndTheLiveFiguresReturn() throws {
        let database = try ReportFixture.ledger()
        _ = try MonthClose.close(ReportFixture.november, nowMicros: Self.now, database: database)
        try database.insert([Self.lateCall(id: 501)])
        let reopened = try MonthClose.reopen(
            ReportFixture.november, reason: "late gpt-4.1 batch", nowMicros: Self.now + 1, database: database)
        #expect(reopened.reopenReason == "late gpt-4.1 batch")
        let history = try MonthClose.history(database: database)
        #expect(history.count == 1 && history[0].reopenedAtMicros == Self.now + 1)
        // Open again: the late call is in November and no adjustment is in December.
        let live = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: database)
        #expect(try Self.csv(ReportFixture.november, database).contains(",\(live.total.calls),"))
        #expect(!(try Self.csv(Self.december, database)).contains("adjustment"))
        // It can be closed again; the old close stays in the history.
        _ = try MonthClose.close(ReportFixture.november, nowMicros: Self.now + 2, database: database)
        #expect(try MonthClose.history(database: database).count == 2)
    }

    @Test func onlyEndedMonthsCloseOnceAndReopenNeedsAReason() throws {
        let database = try ReportFixture.ledger()
        #expect(throws: MonthClose.Failure.notEnded(Self.december)) {
            try MonthClose.close(Self.december, nowMicros: Self.now, database: database)
        }
        _ = try MonthClose.close(ReportFixture.november, nowMicros: Self.now, database: database)
        #expect(throws: MonthClose.Failure.self) {
            try MonthClose.close(ReportFixture.november, nowMicros: Self.now, database: database)
        }
        #expect(throws: MonthClose.Failure.emptyReason) {
            try MonthClose.reopen(ReportFixture.november, reason: "  ", nowMicros: Self.now, database: database)
        }
        #expect(throws: MonthClose.Failure.notClosed(Self.december)) {
            try MonthClose.reopen(Self.december, reason: "x", nowMicros: Self.now, database: database)
        }
    }

    /// The stored hash is SHA-256 of month_close_rows.sql's text; editing a frozen row is refused by trigger.
    @Test func theFrozenRowsAreHashedAndCannotBeEdited() throws {
        let database = try ReportFixture.ledger()
        let close = try MonthClose.close(ReportFixture.november, nowMicros: Self.now, database: database)
        let text = try database.writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT day || char(9) || month || char(9) || model || char(9) || provider || char(9)
                        || provider_kind || char(9) || team || char(9) || key_id || char(9) || tags || char(9)
                        || price_status || char(9) || official_price_id || char(9) || holysheep_price_id || char(9)
                        || calls || char(9) || failed_calls || char(9) || fallback_calls || char(9) || prompt_tokens
                        || char(9) || cached_prompt_tokens || char(9) || completion_tokens || char(9) || latency_us
                        || char(9) || cache_write_5m_tokens || char(9) || cache_write_1h_tokens || char(9)
                        || audio_prompt_tokens || char(9) || audio_completion_tokens || char(10)
                    FROM call_rollup WHERE month = 202611
                    ORDER BY day, model, provider, provider_kind, team, key_id, tags, price_status,
                             official_price_id, holysheep_price_id
                    """
            ).joined()
        }
        #expect(close.rowsSHA256 == SHA256.hex(SHA256.hash(Array(text.utf8))))
        #expect(throws: DatabaseError.self) {
            try database.writer.write { db in try db.execute(sql: "UPDATE month_close_rollup SET calls = calls + 1") }
        }
    }

    @Test func aQueryBecomesTheSameRequestAsTheCommandLine() throws {
        let r = try ReportRequest(
            query: [("month", "2026-11"), ("by", "team"), ("format", "csv")], nowMicros: Self.now)
        #expect(r == ReportRequest(span: .month(ReportFixture.november), grouping: .team, format: .csv))
        #expect(try ReportRequest(query: [], nowMicros: Self.now).span == .month(Self.december))
        #expect(try ReportRequest(query: [], nowMicros: Self.now).format == .html)
        for bad in [[("month", "2026-13")], [("format", "pdf")], [("month", "2026-11"), ("year", "2026")],
            [("from", "2026-11-01")], [("nope", "1")], [("by", "model,team"), ("format", "csv")]]
        {
            #expect(throws: ReportError.self) { try ReportRequest(query: bad, nowMicros: Self.now) }
        }
        let index = ReportRequest.indexPage(nowMicros: Self.now)
        #expect(index.contains("month=2026-12&amp;format=html") && index.contains("month=2026-01&amp;format=html"))
        #expect(!index.contains("month=2025-12"))
    }
}
