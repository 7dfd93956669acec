import Foundation
import GRDB
import LedgerCore
import LedgerReports
import LedgerStore
import Testing

@Suite struct MonthlyCostReportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Byte-compares with Fixtures/NAME; on a mismatch writes the actual text to the temp directory for review.
    static func compareWithGolden(_ text: String, _ name: String) throws {
        let golden = try? String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
        if text != golden {
            try text.write(
                to: FileManager.default.temporaryDirectory.appendingPathComponent(name + ".actual"), atomically: true,
                encoding: .utf8)
        }
        #expect(text == golden, "see \(name).actual in the temp directory")
    }

    @Test func csvOfTheFixtureMonthMatchesTheGoldenFile() throws {
        let report = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .team, database: try ReportFixture.ledger())
        let csv = CSVRenderer.render(report.table(currency: .usd))
        try Self.compareWithGolden(csv, "2026-11-by-team.csv")
    }

    @Test func byModelCSVMatchesTheGoldenFile() throws {
        let report = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: try ReportFixture.ledger())
        let csv = CSVRenderer.render(report.table(currency: .usd))
        try Self.compareWithGolden(csv, "2026-11-by-model.csv")
    }

    /// Recomputes every figure of every grouping from the raw `call` rows (their stored per-call costs), without
    /// the rollup or the report queries, and compares exactly.
    /// The second ledger holds calls with every price dimension of migrations/0004: cache writes, audio, a
    /// long-context tier, a service tier, and a model with an official price only.
    @Test(arguments: ["model", "provider", "team", "key", "day", "tag:project"], [false, true])
    func everyFigureMatchesAnIndependentRecomputationFromRawCalls(by: String, dimensions: Bool) throws {
        let database = try dimensions ? ReportFixture.dimensionsLedger() : ReportFixture.ledger()
        let period = ReportPeriod(month: ReportFixture.november)
        let grouping = try ReportGrouping(parsing: by)
        let report = try MonthlyCostReport.make(period: period, grouping: grouping, database: database)
        let calls = try database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.*, k.name AS key_name FROM call c LEFT JOIN api_key k ON k.id = c.key_id
                    WHERE started_at_us >= ? AND started_at_us < ?
                    """, arguments: [period.fromMicros, period.toMicros])
        }
        #expect(calls.count == (dimensions ? ReportFixture.dimensionEvents().count : 14))
        func group(_ row: Row) -> String {
            switch by {
            case "model": return row["model"] ?? ""
            case "provider": return row["provider"] ?? ""
            case "team": return row["team"] ?? ""
            case "key":
                guard let id: Int64 = row["key_id"] else { return "" }
                return "\(row["key_name"] as String? ?? "key") #\(id)"
            case "day": return UTCDate.isoDay(micros: row["started_at_us"])
            default:
                let tags: String = row["tags"] ?? ""
                for pair in tags.split(separator: ",") where pair.hasPrefix("project=") {
                    return String(pair.dropFirst("project=".count))
                }
                return ""
            }
        }
        var expected: [String: CostFigures] = [:]
        var latencies: [String: [Int64]] = [:]
        for row in calls {
            let g = group(row)
            var f = expected[g] ?? CostFigures()
            f.calls += 1
            if row["status"] as String != "ok" { f.failedCalls += 1 }
            if row["fallback_used"] as Bool { f.fallbackCalls += 1 }
            let prompt: Int64? = row["prompt_tokens"]
            let completion: Int64? = row["completion_tokens"]
            f.inputTokens += prompt ?? 0
            f.cachedInputTokens += row["cached_prompt_tokens"] as Int64? ?? 0
            f.outputTokens += completion ?? 0
            f.cacheWrite5mTokens += row["cache_write_5m_tokens"] as Int64? ?? 0
            f.cacheWrite1hTokens += row["cache_write_1h_tokens"] as Int64? ?? 0
            f.audioInputTokens += row["audio_prompt_tokens"] as Int64? ?? 0
            f.audioOutputTokens += row["audio_completion_tokens"] as Int64? ?? 0
            switch row["price_status"] as String {
            case "no_usage": f.noUsageCalls += 1
            case "unpriced":
                f.unpricedCalls += 1
                f.unpricedTokens += (prompt ?? 0) + (completion ?? 0)
            default: break
            }
            if row["price_status"] as String != "no_usage" {
                let official: Int64? = row["cost_official_pusd"]
                let paid: Int64? = row["cost_paid_pusd"]
                if let official, let paid {
                    f.official += Money(picoUSD: Int128(official))
                    f.paid += Money(picoUSD: Int128(paid))
                } else {
                    if official == nil { f.missingOfficialCalls += 1 }
                    if paid == nil { f.missingPaidCalls += 1 }
                }
            }
            f.latencySumMicros += Int128(row["latency_us"] as Int64)
            latencies[g, default: []].append(row["latency_us"])
            expected[g] = f
        }
        func p95(_ values: [Int64]) -> Int64 {
            let sorted = values.sorted()
            var rank = 0
            while rank * 100 < 95 * sorted.count { rank += 1 }  // ceil(0.95 n), counted, not the report's formula
            return sorted[rank - 1]
        }
        #expect(Set(report.rows.map(\.group)) == Set(expected.keys))
        for row in report.rows {
            var e = try #require(expected[row.group])
            e.p95LatencyMicros = p95(latencies[row.group]!)
            #expect(row.figures == e, "group \(row.group)")
        }
        var total = expected.values.reduce(CostFigures(), +)
        total.p95LatencyMicros = p95(latencies.values.flatMap { $0 })
        #expect(report.total == total)
        #expect(report.total.calls == (dimensions ? ReportFixture.dimensionEvents().count : 14))
        if dimensions {
            // The fixture exercises what it claims: every new token kind and a missing cost of each kind.
            #expect(total.cacheWrite5mTokens > 0 && total.cacheWrite1hTokens > 0 && total.audioInputTokens > 0)
            #expect(total.audioOutputTokens > 0 && total.missingOfficialCalls > 0 && total.missingPaidCalls > 0)
            #expect(total.missingOfficialCalls != total.missingPaidCalls)
        }
    }

    @Test func theGroupWithoutAModelHasTheP95OfNullAndEmptyModelsTogether() throws {
        // The rollup keys both as '' (coalesce(model, '')); the month's p95 by model reads each model's slowest
        // calls from the index, so the '' group must read both lists: 20 calls without a model (1..20 ms) and 20
        // with model '' (101..120 ms). Nearest rank over the 40: the 38th = 118 ms.
        let database = try LedgerDatabase(DatabaseQueue())
        let start = ReportFixture.micros(day: 3)
        var events: [UsageEvent] = []
        for i in 0..<50 {
            let model: String? = i < 20 ? nil : i < 40 ? "" : "gpt-4.1"
            let latency = i < 20 ? Int64(i + 1) * 1000 : i < 40 ? Int64(i - 20 + 101) * 1000 : 5000
            events.append(
                UsageEvent(
                    id: Int64(i + 1), startedAtMicros: start + Int64(i), finishedAtMicros: start + Int64(i) + 1,
                    endpoint: "/v1/chat/completions", model: model, provider: "holysheep", providerKind: .holysheep,
                    status: .clientError, latencyMicros: latency))
        }
        try database.insert(events)
        let report = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: database)
        let noModel = try #require(report.rows.first { $0.group.isEmpty })
        #expect(noModel.figures.calls == 40)
        #expect(noModel.figures.p95LatencyMicros == 118_000)
        // Of all 50 (ten more at 5 ms): the 48th is still 118 ms.
        #expect(report.total.p95LatencyMicros == 118_000)
    }

    @Test func csvGroupRowsSumExactlyToTheTotalRowEvenWhenRoundingDisagrees() throws {
        // 40 groups of 0.5 cent each: rounding each half-even gives 0.00 or 0.01 alternately; the exact total is 0.20.
        let database = try LedgerDatabase(DatabaseQueue())
        var events: [UsageEvent] = []
        let start = ReportFixture.micros(day: 2)
        for i in 0..<40 {
            // gpt-4.1 official output 8 USD/MTok: 625 tokens = 0.005 USD official; paid at HolySheep 0.0008.
            events.append(
                UsageEvent(
                    id: Int64(i + 1), startedAtMicros: start + Int64(i), finishedAtMicros: start + Int64(i) + 1,
                    endpoint: "/v1/chat/completions", model: "gpt-4.1", provider: "holysheep", providerKind: .holysheep,
                    status: .ok, usage: TokenUsage(promptTokens: 0, completionTokens: 625 + Int64(i % 2) * 625),
                    latencyMicros: 1000, team: "team-\(i)"))
        }
        try database.insert(events)
        let table = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .team, database: database
        ).table(currency: .usd)
        let csv = CSVRenderer.render(table)
        let lines = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = lines[0].map(String.init)
        let body = lines.dropFirst().dropLast()
        let total = try #require(lines.last)
        #expect(total[0] == "TOTAL")
        for name in ["cost_official_usd", "cost_paid_usd", "savings_usd", "calls", "output_tokens"] {
            let i = try #require(header.firstIndex(of: name))
            let sum = body.reduce(Decimal(0)) { $0 + Decimal(string: String($1[i]))! }
            #expect(sum == Decimal(string: String(total[i]))!, "\(name)")
        }
        // Exact: 20 x 0.005 + 20 x 0.010 = 0.30. Rounding each row half-even alone gives 20 x 0.00 + 20 x 0.01 =
        // 0.20; the TOTAL is the exact total rounded once (0.30) and ten of the 0.005 rows carry the extra cents.
        let official = try #require(header.firstIndex(of: "cost_official_usd"))
        #expect(total[official] == "0.30")
        #expect(table.exact.first { $0.key == "total_cost_official_usd" }?.value == "0.300000000000")
        let halfCentRows = body.filter { $0[0].hasPrefix("team-") && Int($0[0].dropFirst(5))! % 2 == 0 }
        #expect(halfCentRows.count == 20)
        #expect(halfCentRows.filter { $0[official] == "0.01" }.count == 10)
        #expect(halfCentRows.filter { $0[official] == "0.00" }.count == 10)
        #expect(body.filter { Int($0[0].dropFirst(5))! % 2 == 1 }.allSatisfy { $0[official] == "0.01" })
    }

    @Test func apportionKeepsHalfEvenRowsWhenTheyAlreadyAddUp() {
        // 1.234 + 2.345 + 3.335 = 6.914 -> 6.91; half-even rows 1.23 + 2.34 + 3.34 = 6.91: unchanged.
        let r = CostColumns.apportion([1234, 2345, 3335], unit: 10)
        #expect(r.rows == [123, 234, 334])
        #expect(r.total == 691)
        // 0.4 x 3 = 1.2 -> 1; rows 0 + 0 + 0 -> one row takes the cent.
        let s = CostColumns.apportion([4, 4, 4], unit: 10)
        #expect(s.rows == [1, 0, 0])
        // 0.6 x 3 = 1.8 -> 2; rows 1 + 1 + 1 = 3 -> one row gives a cent back.
        let t = CostColumns.apportion([6, 6, 6], unit: 10)
        #expect(t.rows.reduce(0, +) == 2)
        #expect(t.total == 2)
    }

    @Test func thePercentileFastPathAgreesWithTheFullScan() throws {
        let database = try ReportFixture.ledger()
        let month = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .model, database: database)
        let range = try MonthlyCostReport.make(
            period: ReportPeriod(from: "2026-11-01", to: "2026-12-01"), grouping: .model, database: database)
        #expect(ReportPeriod(month: ReportFixture.november).wholeMonth != nil)
        #expect(month.rows == range.rows)
        #expect(month.total == range.total)
        let p95 = try #require(month.total.p95LatencyMicros)
        #expect(p95 == 30_000_012)
    }

    @Test func halfOpenRangesExcludeTheToDay() throws {
        let database = try ReportFixture.ledger()
        let report = try MonthlyCostReport.make(
            period: ReportPeriod(from: "2026-11-01", to: "2026-11-03"), grouping: .day, database: database)
        #expect(report.rows.map(\.group) == ["2026-11-01", "2026-11-02"])
        #expect(report.total.calls == 4)
    }

    @Test func currencyConvertsAtTheRateInEffectAndSaysWhich() throws {
        let database = try ReportFixture.ledger()
        let rates = RateBook(database: database)
        let period = ReportPeriod(month: ReportFixture.november)
        #expect(throws: ReportError.noRate(currency: "THB", from: "2026-11-01")) {
            try rates.conversion(currency: "THB", period: period)
        }
        try rates.set(
            currency: "THB", perUSDMicros: try RateBook.rate(parsing: "35.50"),
            fromMicros: UTCDate.micros(parsing: "2026-11-01")!, nowMicros: 0)
        let thb = try rates.conversion(currency: "THB", period: period)
        let report = try MonthlyCostReport.make(period: period, grouping: .model, database: database)
        let table = report.table(currency: thb)
        #expect(table.columns.map(\.name).contains("cost_paid_thb"))
        #expect(table.notes.contains("rate used: 35.5 THB per USD, effective from 2026-11-01"))
        let paidIndex = try #require(table.columns.firstIndex { $0.name == "cost_paid_thb" })
        let gpt = try #require(report.rows.first { $0.group == "gpt-4.1" })
        let expected = Money.divideHalfEven(gpt.figures.paid.picoUSD * 355, by: Money.picoPerCent * 10)
        let row = try #require(table.rows.first { $0[0] == .text("gpt-4.1") })
        #expect(row[paidIndex] == .decimal(expected, scale: 2))
        // October starts before the rate: refused.
        #expect(throws: ReportError.self) {
            try rates.conversion(currency: "THB", period: ReportPeriod(month: try BillingMonth(year: 2026, month: 10)))
        }
    }

    @Test func rollupFollowsInsertsUpdatesAndDeletesExactly() throws {
        let database = try ReportFixture.ledger()
        let check = """
            SELECT (SELECT count(*) FROM call), (SELECT sum(calls) FROM call_rollup),
                   (SELECT sum(coalesce(prompt_tokens, 0)) FROM call), (SELECT sum(prompt_tokens) FROM call_rollup),
                   (SELECT sum(latency_us) FROM call), (SELECT sum(latency_us) FROM call_rollup)
            """
        func consistent() throws -> Bool {
            let r = try database.writer.read { try Row.fetchOne($0, sql: check)! }
            return r[0] as Int64 == r[1] as Int64 && r[2] as Int64 == r[3] as Int64 && r[4] as Int64 == r[5] as Int64
        }
        #expect(try consistent())
        try database.writer.write { db in
            try db.execute(sql: "UPDATE call SET team = 'moved', prompt_tokens = prompt_tokens + 5 WHERE id = 1")
            try db.execute(sql: "DELETE FROM call WHERE id = 2")
        }
        #expect(try consistent())
        let report = try MonthlyCostReport.make(
            period: ReportPeriod(month: ReportFixture.november), grouping: .team, database: database)
        #expect(report.rows.first { $0.group == "moved" }?.figures.inputTokens == 1205)
        #expect(report.total.calls == 13)
    }
}
