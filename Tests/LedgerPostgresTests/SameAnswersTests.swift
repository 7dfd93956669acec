import Foundation
import LedgerCore
import LedgerPostgres
import LedgerReports
import LedgerStore
import LedgerTestSupport
import Testing

/// The same calls recorded in a SQLite ledger and a PostgreSQL ledger give the same reports: every figure (money
/// exact to the pico-USD, so to the cent), every group in the same order, the export byte for byte, the month close's
/// hash and totals. The calls cover every costing path: base prices, the priority service tier, Anthropic's long
/// context tier with cache writes, Gemini audio, an unpriced model, calls without usage, the official fallback.
@Suite struct SameAnswersTests {
    static let closedMonth = try! BillingMonth(year: 2026, month: 11)  // a closed month (ended before "now")
    static let now: Int64 = 1_798_000_000_000_000  // 2026-12-23

    static func events() -> [UsageEvent] {
        var events: [UsageEvent] = []
        let teams: [String?] = ["Research", "ops", "_infra", "Ops", nil]
        let tags: [String?] = ["project=apollo,env=prod", "env=dev", nil, "project=Zeus", "project=,x=1"]
        for n in 0..<90 {
            // 2026-10-25 .. 2026-11-30: two months, many days
            let start = Self.closedMonth.startMicros - 6 * 86_400_000_000 + Int64(n) * 40_000_000_000 + Int64(n * n)
            let model: String?
            var usage: TokenUsage? = TokenUsage(
                promptTokens: Int64(100 + 37 * n), cachedPromptTokens: Int64(n % 13), completionTokens: Int64(3 * n + 1),
                reasoningTokens: Int64(n % 3))
            switch n % 9 {
            case 0: model = "gpt-4.1"
            case 1:
                model = "gpt-4.1"
                usage?.serviceTier = "priority"
            case 2:
                model = "claude-sonnet-4.5"
                usage = TokenUsage(
                    promptTokens: 250_000 + Int64(n), cachedPromptTokens: 1_000, completionTokens: 900,
                    cacheWrite5mTokens: 2_000, cacheWrite1hTokens: 500)
            case 3:
                model = "claude-sonnet-4.5"
                usage = TokenUsage(
                    promptTokens: 5_000, cachedPromptTokens: 100, completionTokens: 70, cacheWrite5mTokens: 300)
            case 4:
                model = "gemini-2.5-flash"
                usage = TokenUsage(
                    promptTokens: 1_200, cachedPromptTokens: 0, completionTokens: 400, audioPromptTokens: 800)
            case 5: model = "deepseek-v3.2"
            case 6: model = "mystery-model"
            case 7:
                model = "gpt-4.1"
                usage = nil
            default: model = nil
            }
            events.append(
                UsageEvent(
                    id: Int64(n + 1), startedAtMicros: start, finishedAtMicros: start + 9_000,
                    endpoint: "/v1/chat/completions", requestedModel: model, model: model,
                    provider: n % 4 == 0 ? "official" : "holysheep", providerKind: n % 4 == 0 ? .official : .holysheep,
                    stream: n % 2 == 0, status: usage == nil ? .upstreamError : .ok, httpStatus: usage == nil ? 502 : 200,
                    fallbackUsed: n % 4 == 0, usage: usage, latencyMicros: Int64(1_000 + (n * 7919) % 5_000),
                    keyID: n % 3 == 0 ? nil : Int64(n % 3), team: teams[n % teams.count], tags: tags[n % tags.count],
                    upstreamRequestID: "req-\(n)"))
        }
        return events
    }

    @Test func everyReportIsTheSameOnSQLiteAndPostgreSQL() async throws {
        let path = TemporaryLedgerPath("same-answers")
        defer { path.remove() }
        let sqlite = try LedgerDatabase(path: path.path)
        let settings = try await migratedDatabase()
        let postgres = PostgresBackend(settings: settings, logger: testLogger)
        for store in [sqlite as any LedgerBackend, postgres] {
            _ = try await store.createKey(name: "alice", team: "Research", nowMicros: 1, admin: false)
            _ = try await store.createKey(name: "bob", team: nil, nowMicros: 2, admin: true)
        }
        let events = Self.events()
        try sqlite.insert(events)
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        try await whileRunning(ledger) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for event in events { group.addTask { try await ledger.record(event) } }
                try await group.waitForAll()
            }
        }
        // Small pages, so the paged queries (export, latency scan) cross many page boundaries.
        var paged = PostgresReportStore(settings: settings, logger: testLogger)
        paged.pageSize = 7

        let november = ReportPeriod(month: Self.closedMonth)
        let october = ReportPeriod(month: try BillingMonth(year: 2026, month: 10))
        let range = try ReportPeriod(from: "2026-10-28", to: "2026-11-09")
        for period in [november, october, range] {
            for grouping in [ReportGrouping.model, .provider, .team, .key, .day, .tag("project"), .tag("x")] {
                let a = try MonthlyCostReport.make(period: period, grouping: grouping, database: sqlite)
                let b = try MonthlyCostReport.make(period: period, grouping: grouping, database: paged)
                #expect(a.rows == b.rows, "\(period) by \(grouping)")
                #expect(a.total == b.total, "\(period) by \(grouping)")
                #expect(!a.rows.isEmpty)
            }
        }
        let byModel = try MonthlyCostReport.make(period: november, grouping: .model, database: sqlite)
        #expect(byModel.total.paid.picoUSD > 0 && byModel.total.unpricedCalls > 0 && byModel.total.noUsageCalls > 0)

        let yearA = try AnnualReport.make(year: 2026, nowMicros: Self.now, database: sqlite)
        let yearB = try AnnualReport.make(year: 2026, nowMicros: Self.now, database: paged)
        #expect(yearA.rows == yearB.rows && yearA.total == yearB.total)

        for format in CallExporter.Format.allCases {
            var bytesA: [UInt8] = []
            var bytesB: [UInt8] = []
            let rowsA = try CallExporter(database: sqlite).export(period: range, format: format) { bytesA += $0 }
            let rowsB = try CallExporter(database: paged).export(period: range, format: format) { bytesB += $0 }
            #expect(rowsA == rowsB && rowsA > 20)
            #expect(bytesA == bytesB, "export \(format)")
        }

        // The rendered reports people read: identical bytes (CSV carries every column, money exact).
        let queries: [[(String, String)]] = [
            [("month", "2026-11"), ("by", "team"), ("format", "csv")], [("year", "2026"), ("format", "csv")],
            [("month", "2026-11"), ("by", "tag:project"), ("format", "json")],
        ]
        for query in queries {
            let request = try ReportRequest(query: query, nowMicros: Self.now)
            #expect(try request.render(database: sqlite, nowMicros: Self.now) == request.render(database: paged, nowMicros: Self.now), "\(query.map { $0.0 + "=" + $0.1 })")
        }

        // Reconcile: a bill with a matching line, an off line and a line the ledger lacks; the same lines both ways.
        let bill = try ProviderBill(
            bytes: Array(
                (ProviderBill.csvHeader + "\r\n2026-11-02,gpt-4.1,1,0,1,0.000010\r\n2026-11-03,deepseek-v3.2,5,0,5,1.00\r\n"
                    + "2026-11-04,never-called,1,0,1,0.01\r\n").utf8))
        for provider in [nil, "holysheep"] as [String?] {
            let a = try Reconciliation.make(
                bill: bill, month: Self.closedMonth, provider: provider, tolerance: Money(picoUSD: Money.picoPerCent),
                database: sqlite)
            let b = try Reconciliation.make(
                bill: bill, month: Self.closedMonth, provider: provider, tolerance: Money(picoUSD: Money.picoPerCent),
                database: paged)
            #expect(a.lines == b.lines && a.lines.count > 3 && !a.discrepancies.isEmpty)
        }

        // Month close: the same canonical rows (hash), the same frozen totals; then a late call is an adjustment.
        let closeA = try MonthClose.close(Self.closedMonth, nowMicros: Self.now, database: sqlite)
        let closeB = try MonthClose.close(Self.closedMonth, nowMicros: Self.now, database: postgres)
        #expect(closeA.rowsSHA256 == closeB.rowsSHA256)
        #expect(closeA.calls == closeB.calls && closeA.official == closeB.official && closeA.paid == closeB.paid)
        var late = events[10]
        late.id = 1_000
        try sqlite.insert([late])
        let replica = try await PostgresLedger.open(settings, logger: testLogger)  // another replica records it
        try await whileRunning(replica) { try await replica.record(late) }
        let december = try BillingMonth(year: 2026, month: 12)
        for grouping in [ReportGrouping.model, .team] {
            let a = try ClosedMonths.report(month: december, grouping: grouping, asRecorded: false, database: sqlite)
            let b = try ClosedMonths.report(month: december, grouping: grouping, asRecorded: false, database: paged)
            #expect(a.report.rows == b.report.rows && a.notes == b.notes)
            #expect(a.report.rows.contains { $0.group.hasPrefix("adjustment 2026-11") })
        }
        let reopenedA = try MonthClose.reopen(Self.closedMonth, reason: "late", nowMicros: Self.now + 1, database: sqlite)
        let reopenedB = try MonthClose.reopen(Self.closedMonth, reason: "late", nowMicros: Self.now + 1, database: postgres)
        #expect(reopenedA.reopenReason == reopenedB.reopenReason)
        #expect(try MonthClose.history(database: sqlite).count == MonthClose.history(database: postgres).count)

        // Rates: set and read back the same way on both.
        for store in [sqlite as any ReportStore, paged] {
            try RateBook(database: store).set(
                currency: "THB", perUSDMicros: 35_500_000, fromMicros: november.fromMicros, nowMicros: 1)
        }
        #expect(try RateBook(database: sqlite).all() == RateBook(database: paged).all())
        #expect(
            try RateBook(database: sqlite).conversion(currency: "THB", period: november)
                == RateBook(database: paged).conversion(currency: "THB", period: november))
    }

    /// The p95 PostgreSQL ranks on the server (latency_p95_by_group.sql: the index walk of a whole month by model or
    /// team, percentile_disc otherwise) is SQLite's nearest rank for every group size 1...41 (ranks round up at
    /// different sizes), with ties, the group '' of NULL and '' teams and models, and a closed month's calls up to its
    /// last id.
    @Test func p95IsTheSameNearestRankForEveryGroupSize() async throws {
        let path = TemporaryLedgerPath("same-p95")
        defer { path.remove() }
        let sqlite = try LedgerDatabase(path: path.path)
        let settings = try await migratedDatabase()
        var events: [UsageEvent] = []
        let models: [String?] = ["gpt-4.1", "deepseek-v3.2", nil]
        for size in 1...41 {
            for k in 0..<size {
                let n = events.count
                let start = Self.closedMonth.startMicros + Int64(n) * 3_000_000_000 % (29 * 86_400_000_000)
                let team: String? = size == 41 ? (k % 2 == 0 ? nil : "") : "team-\(size)"
                events.append(
                    UsageEvent(
                        id: Int64(n + 1), startedAtMicros: start, finishedAtMicros: start + 1, endpoint: "/v1/chat",
                        model: models[n % models.count], provider: n % 3 == 0 ? "official" : "holysheep",
                        providerKind: n % 3 == 0 ? .official : .holysheep, status: .ok, httpStatus: 200,
                        usage: TokenUsage(promptTokens: 10, cachedPromptTokens: 0, completionTokens: 5),
                        // ties within and across groups
                        latencyMicros: Int64(1_000 + (n * 7919) % 997 / 3), team: team))
            }
        }
        try sqlite.insert(events)
        let ledger = try await PostgresLedger.open(settings, logger: testLogger)
        try await whileRunning(ledger) { for event in events { try await ledger.record(event) } }
        let postgres = PostgresReportStore(settings: settings, logger: testLogger)
        let november = ReportPeriod(month: Self.closedMonth)
        let range = try ReportPeriod(from: "2026-11-03", to: "2026-11-20")
        for period in [november, range] {
            for grouping in [ReportGrouping.model, .team, .provider, .day] {
                let a = try MonthlyCostReport.make(period: period, grouping: grouping, database: sqlite)
                let b = try MonthlyCostReport.make(period: period, grouping: grouping, database: postgres)
                #expect(a.rows == b.rows, "\(period) by \(grouping)")
                #expect(a.total == b.total && a.total.p95LatencyMicros != nil, "\(period) by \(grouping)")
                #expect(a.rows.allSatisfy { $0.figures.p95LatencyMicros != nil })
            }
        }
        let byTeam = try MonthlyCostReport.make(period: november, grouping: .team, database: postgres)
        #expect(byTeam.rows.count == 41 && byTeam.rows.contains { $0.group.isEmpty })

        // A closed month: the p95 of the calls up to the close's last id, also after later calls.
        _ = try MonthClose.close(Self.closedMonth, nowMicros: Self.now, database: sqlite)
        _ = try MonthClose.close(Self.closedMonth, nowMicros: Self.now, database: postgres)
        var late = events[5]
        late.id = 100_000
        late.latencyMicros = 9_999_999
        try sqlite.insert([late])
        let replica = try await PostgresLedger.open(settings, logger: testLogger)
        try await whileRunning(replica) { try await replica.record(late) }
        for grouping in [ReportGrouping.model, .team] {
            let a = try ClosedMonths.report(month: Self.closedMonth, grouping: grouping, asRecorded: true, database: sqlite)
            let b = try ClosedMonths.report(month: Self.closedMonth, grouping: grouping, asRecorded: true, database: postgres)
            #expect(a.report.rows == b.report.rows && a.report.total == b.report.total, "closed by \(grouping)")
        }
    }

    @Test func keysAndPricesAdministrationAgreeAcrossStores() async throws {
        let path = TemporaryLedgerPath("same-admin")
        defer { path.remove() }
        let sqlite = try LedgerDatabase(path: path.path)
        let postgres = PostgresBackend(settings: try await migratedDatabase(), logger: testLogger)
        for store in [sqlite as any LedgerBackend, postgres] {
            let (alice, secret) = try await store.createKey(name: " alice ", team: "", nowMicros: 5, admin: true)
            #expect(alice.name == "alice" && alice.team == nil && alice.isAdmin)
            #expect(await store.isAdmin(secret: secret) == true)
            #expect(await store.isAdmin(secret: secret + "x") == nil)
            try await store.revokeKey(id: alice.id, nowMicros: 9)
            await #expect(throws: LedgerStoreError.keyAlreadyRevoked(id: alice.id)) {
                try await store.revokeKey(id: alice.id, nowMicros: 10)
            }
            await #expect(throws: LedgerStoreError.keyNotFound(id: 99)) { try await store.revokeKey(id: 99, nowMicros: 10) }
            #expect(await store.isAdmin(secret: secret) == nil)
            let entry = PriceBookEntry(
                kind: .official, model: "new-model", price: ModelPrice(input: 1, cachedInput: 1, output: 2, inputAudio: 3),
                effectiveFromMicros: 100, source: "test", serviceTier: "flex")
            try await store.addPrices([entry], nowMicros: 1)
            await #expect(throws: LedgerStoreError.self) { try await store.addPrices([entry], nowMicros: 2) }
            let csv = "provider_kind,model,input,cached_input,output,effective_from,source\nholysheep,new-model,0.5,0.1,1,2020-01-01,test\n"
            #expect(try await store.importPrices(csv: csv, nowMicros: 3).count == 1)
            await #expect(throws: LedgerStoreError.self) { try await store.importPrices(csv: csv, nowMicros: 4) }
        }
        // Equal but for the random secrets' public prefixes.
        let unprefixed = { (keys: [KeyStore.Key]) in keys.map { key in var key = key; key.lookupPrefix = ""; return key } }
        #expect(unprefixed(try sqlite.listKeys()) == unprefixed(try await postgres.listKeys()))
        #expect(try await sqlite.priceRows(atMicros: 200, history: true) == postgres.priceRows(atMicros: 200, history: true))
        #expect(try await sqlite.priceRows(atMicros: 200, history: false).count > 16)
    }
}
