import Foundation
import GRDB
import LedgerCore
import LedgerStore
import Testing

/// Prices as providers publish them (migrations/0004): long-context and service tiers, cache writes and audio, each
/// cost recorded on its own, the typo guard. Real SQLite (in-memory `DatabaseQueue`), costs in pico-USD.
@Suite struct PriceDimensionsTests {
    static let dec1 = UTCDate.micros(parsing: "2026-12-01")!

    static func call(
        id: Int64, model: String, usage: TokenUsage, kind: ProviderKind = .holysheep, at micros: Int64 = 1_000
    ) -> UsageEvent {
        UsageEvent(
            id: id, startedAtMicros: micros, finishedAtMicros: micros + 1, endpoint: "/v1/chat/completions",
            model: model, provider: kind.rawValue, providerKind: kind, status: .ok, usage: usage, latencyMicros: 1)
    }

    private func row(_ ledger: LedgerDatabase, id: Int64) throws -> Row {
        try #require(try ledger.writer.read { try Row.fetchOne($0, sql: "SELECT * FROM call WHERE id = ?", arguments: [id]) })
    }

    private func priceID(_ ledger: LedgerDatabase, _ kind: ProviderKind, _ model: String, min: Int64 = 0, tier: String = "")
        throws -> Int64
    {
        try #require(
            try ledger.writer.read {
                try Int64.fetchOne(
                    $0,
                    sql: """
                        SELECT id FROM price WHERE provider_kind = ? AND model = ? AND min_prompt_tokens = ?
                          AND service_tier = ? AND effective_from_us = 0
                        """, arguments: [kind.rawValue, model, min, tier])
            })
    }

    @Test func longContextTierPricesTheWholeCallAboveTheThreshold() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        try ledger.insert([
            Self.call(id: 1, model: "claude-sonnet-4.5", usage: TokenUsage(promptTokens: 250_000, completionTokens: 1000)),
            Self.call(id: 2, model: "claude-sonnet-4.5", usage: TokenUsage(promptTokens: 200_000, completionTokens: 1000)),
            // 150k uncached + 60k cache reads: the cache reads count toward the threshold.
            Self.call(
                id: 3, model: "claude-sonnet-4.5",
                usage: TokenUsage(promptTokens: 210_000, cachedPromptTokens: 60_000, completionTokens: 0)),
        ])
        let long = try row(ledger, id: 1)
        // 250000 × 6.00 + 1000 × 22.50 = 1.5225 USD; HolySheep × 0.16
        #expect(long["cost_official_pusd"] as Int64 == 1_522_500_000_000)
        #expect(long["cost_holysheep_pusd"] as Int64 == 243_600_000_000)
        #expect(long["cost_paid_pusd"] as Int64 == 243_600_000_000)
        #expect(long["official_price_id"] as Int64 == (try priceID(ledger, .official, "claude-sonnet-4.5", min: 200_000)))
        let atThreshold = try row(ledger, id: 2)
        // Exactly 200,000 is not above it: 200000 × 3.00 + 1000 × 15.00
        #expect(atThreshold["cost_official_pusd"] as Int64 == 615_000_000_000)
        #expect(atThreshold["official_price_id"] as Int64 == (try priceID(ledger, .official, "claude-sonnet-4.5")))
        // 150000 × 6.00 + 60000 × 0.60
        #expect(try row(ledger, id: 3)["cost_official_pusd"] as Int64 == 936_000_000_000)
    }

    @Test func cacheWritesAndServiceTiersAreRecordedAndPriced() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let anthropic = TokenUsage(
            promptTokens: 15_000, cachedPromptTokens: 10_000, completionTokens: 500, cacheWrite5mTokens: 1000,
            cacheWrite1hTokens: 2000, serviceTier: "standard")
        try ledger.insert([
            Self.call(id: 1, model: "claude-sonnet-4.5", usage: anthropic, kind: .official),
            Self.call(
                id: 2, model: "gpt-4.1",
                usage: TokenUsage(promptTokens: 1000, completionTokens: 1000, serviceTier: "priority"), kind: .official),
            Self.call(
                id: 3, model: "gpt-4.1",
                usage: TokenUsage(promptTokens: 1000, completionTokens: 1000, serviceTier: "default"), kind: .official),
            Self.call(
                id: 4, model: "gemini-2.5-flash",
                usage: TokenUsage(promptTokens: 1000, completionTokens: 0, audioPromptTokens: 400)),
        ])
        let a = try row(ledger, id: 1)
        #expect(a["cache_write_5m_tokens"] as Int64 == 1000 && a["cache_write_1h_tokens"] as Int64 == 2000)
        #expect(a["service_tier"] as String == "standard" && a["prompt_tokens"] as Int64 == 15_000)
        // 2000 × 3.00 + 10000 × 0.30 + 1000 × 3.75 + 2000 × 6.00 + 500 × 15.00
        #expect(a["cost_official_pusd"] as Int64 == 32_250_000_000)
        #expect(a["cost_paid_pusd"] as Int64 == 32_250_000_000)
        #expect(a["cost_holysheep_pusd"] as Int64 == 5_160_000_000)
        // Priority: 1000 × 3.50 + 1000 × 14.00; default: 1000 × 2.00 + 1000 × 8.00
        let p = try row(ledger, id: 2)
        #expect(p["cost_official_pusd"] as Int64 == 17_500_000_000)
        #expect(p["official_price_id"] as Int64 == (try priceID(ledger, .official, "gpt-4.1", tier: "priority")))
        #expect(try row(ledger, id: 3)["cost_official_pusd"] as Int64 == 10_000_000_000)
        // Gemini audio: 600 × 0.30 + 400 × 1.00
        let g = try row(ledger, id: 4)
        #expect(g["cost_official_pusd"] as Int64 == 580_000_000)
        #expect(g["audio_prompt_tokens"] as Int64 == 400)
        // The rollup carries the new token sums.
        let sums = try #require(
            try ledger.writer.read {
                try Row.fetchOne(
                    $0,
                    sql: """
                        SELECT sum(cache_write_5m_tokens) AS w5, sum(cache_write_1h_tokens) AS w1,
                               sum(audio_prompt_tokens) AS ap FROM call_rollup
                        """)
            })
        #expect(sums["w5"] as Int64 == 1000 && sums["w1"] as Int64 == 2000 && sums["ap"] as Int64 == 400)
    }

    @Test func eachCostIsRecordedOnItsOwn() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        try ledger.addPrices(
            [PriceBookEntry(
                kind: .official, model: "o3", price: ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000),
                effectiveFromMicros: 0, source: "OpenAI pricing page")],
            nowMicros: 1)
        let usage = TokenUsage(promptTokens: 1000, completionTokens: 1000)
        try ledger.insert([
            Self.call(id: 1, model: "o3", usage: usage, kind: .holysheep),
            Self.call(id: 2, model: "o3", usage: usage, kind: .official),
            Self.call(id: 3, model: "nobody-prices-this", usage: usage),
        ])
        let relay = try row(ledger, id: 1)
        #expect(relay["cost_official_pusd"] as Int64 == 10_000_000_000)
        #expect(relay["cost_holysheep_pusd"] as Int64? == nil && relay["cost_paid_pusd"] as Int64? == nil)
        #expect(relay["price_status"] as String == "unpriced")
        #expect(relay["missing_costs"] as String == "paid: no holysheep price for o3; holysheep: no holysheep price for o3")
        let official = try row(ledger, id: 2)
        #expect(official["cost_paid_pusd"] as Int64 == 10_000_000_000)
        #expect(official["missing_costs"] as String == "holysheep: no holysheep price for o3")
        let none = try row(ledger, id: 3)
        #expect(none["cost_official_pusd"] as Int64? == nil && none["cost_paid_pusd"] as Int64? == nil)
        #expect((none["missing_costs"] as String).contains("official: no official price for nobody-prices-this"))
        #expect(try row(ledger, id: 2)["official_price_id"] as Int64? != nil)
    }

    @Test func importReadsTheOptionalColumnsAndListShowsThem() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let csv = """
            provider_kind,model,input,cached_input,output,effective_from,source,cache_write_input,cache_write_1h_input,input_audio,output_audio,min_prompt_tokens,service_tier
            official,claude-x,3,0.3,15,2026-12-01,Anthropic,3.75,6,,,0,
            official,claude-x,6,0.6,22.5,2026-12-01,Anthropic long context,7.5,12,,,200000,
            official,gpt-x,2,0.5,8,2026-12-01,OpenAI,,,40,80,0,flex
            """
        try ledger.importPrices(csv: csv, nowMicros: 1)
        let rows = try ledger.prices(atMicros: Self.dec1).filter { $0.model.hasSuffix("-x") }
        #expect(rows.count == 3)
        let tier = try #require(rows.first { $0.model == "claude-x" && $0.minPromptTokens == 200_000 })
        #expect(tier.price == ModelPrice(
            input: 6_000_000, cachedInput: 600_000, output: 22_500_000, cacheWriteInput: 7_500_000,
            cacheWrite1hInput: 12_000_000))
        let flex = try #require(rows.first { $0.model == "gpt-x" })
        #expect(flex.serviceTier == "flex" && flex.price.inputAudioMicroUSDPerMTok == 40_000_000
            && flex.price.outputAudioMicroUSDPerMTok == 80_000_000 && flex.price.cacheWriteInputMicroUSDPerMTok == nil)
        // A flex-only row does not price a default-tier call.
        let book = try ledger.loadPriceBook()
        #expect(book.row(model: "gpt-x", kind: .official, atMicros: Self.dec1,
                         usage: TokenUsage(promptTokens: 1, completionTokens: 1, serviceTier: "default")) == nil)
        // Bad optional fields reject the file with their line.
        for (bad, reason) in [(",x,,,,0,", "cache_write_input"), (",,,,,-5,", "min_prompt_tokens"),
                              (",,,,,0,a b", "service_tier")] {
            let text = "provider_kind,model,input,cached_input,output,effective_from,source,cache_write_input,"
                + "cache_write_1h_input,input_audio,output_audio,min_prompt_tokens,service_tier\n"
                + "official,m,1,1,1,2026-12-01,src\(bad)\n"
            #expect {
                try ledger.importPrices(csv: text, nowMicros: 1)
            } throws: { error in
                guard case .invalidPriceCSV(let line, let message) = error as? LedgerStoreError else { return false }
                return line == 2 && message.contains(reason)
            }
        }
    }

    @Test func typoGuardNamesRowsMoreThanFiveTimesOff() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let book = try ledger.loadPriceBook()
        func entry(_ input: Int64, _ output: Int64, min: Int64 = 0) -> PriceBookEntry {
            PriceBookEntry(
                kind: .official, model: "gpt-4.1", price: ModelPrice(input: input, cachedInput: 500_000, output: output),
                effectiveFromMicros: Self.dec1, source: "s", minPromptTokens: min)
        }
        // 20.00 instead of 2.00: named; 10.00 (exactly 5x) and 0.40 (exactly 1/5) pass.
        let warnings = PriceJumpGuard.warnings(for: [entry(20_000_000, 8_000_000)], book: book)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("official price of gpt-4.1") == true)
        #expect(warnings.first?.contains("input 2 -> 20") == true)
        #expect(PriceJumpGuard.warnings(for: [entry(10_000_000, 1_600_000)], book: book).isEmpty)
        // A new tier row is compared with the base row when its own series has no earlier row.
        #expect(PriceJumpGuard.warnings(for: [entry(2_000_000, 80_000_000, min: 100_000)], book: book).count == 1)
        // Rows of the same batch count as previous prices for the later ones.
        var later = entry(2_000_000, 80_000_000)
        later.effectiveFromMicros = Self.dec1 + 1
        let batch = PriceJumpGuard.warnings(for: [entry(2_000_000, 80_000_000), later], book: book)
        #expect(batch.count == 1)
    }
}

/// A ledger made by the previous schema (0001-0003, with calls) upgrades in place: its calls keep their price rows
/// and costs, the rollup keeps adding up, and the shipped rows gain their dimensions.
@Suite struct PriceDimensionsMigrationTests {
    static let migrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations")

    @Test func aLedgerOfThePreviousSchemaUpgradesKeepingItsCalls() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for name in ["0001_ledger", "0002_default_prices", "0003_call_rollup"] {
                try db.execute(
                    sql: try String(contentsOf: Self.migrations.appendingPathComponent(name + ".sql"), encoding: .utf8))
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [name])
            }
            // A call as the previous binary recorded it (and its rollup row, as its CallRecord did).
            try db.execute(
                sql: """
                    INSERT INTO call (id, started_at_us, finished_at_us, month, endpoint, model, provider, provider_kind,
                        stream, status, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens,
                        usage_source, latency_us, price_status, official_price_id, holysheep_price_id, cost_paid_pusd,
                        cost_official_pusd, cost_holysheep_pusd)
                    VALUES (1, 1000, 2000, 197001, '/v1/chat/completions', 'claude-sonnet-4.5', 'holysheep',
                        'holysheep', 0, 'ok', 1000, 0, 100, 0, 'upstream', 1000, 'priced',
                        (SELECT id FROM price WHERE provider_kind = 'official' AND model = 'claude-sonnet-4.5'),
                        (SELECT id FROM price WHERE provider_kind = 'holysheep' AND model = 'claude-sonnet-4.5'),
                        720000000, 4500000000, 720000000);
                    INSERT INTO call_rollup
                    SELECT 0, month, model, provider, provider_kind, '', 0, '', price_status, official_price_id,
                           holysheep_price_id, 1, 0, 0, prompt_tokens, cached_prompt_tokens, completion_tokens,
                           latency_us FROM call;
                    """)
        }
        let ledger = try LedgerDatabase(queue)
        try ledger.writer.read { db in
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
            let call = try #require(try Row.fetchOne(db, sql: "SELECT * FROM call WHERE id = 1"))
            let official = try #require(
                try Row.fetchOne(db, sql: "SELECT * FROM price WHERE id = ?", arguments: [call["official_price_id"] as Int64]))
            #expect(official["model"] as String == "claude-sonnet-4.5" && official["min_prompt_tokens"] as Int64 == 0)
            #expect(official["cache_write_input_musd_per_mtok"] as Int64 == 3_750_000)
            #expect(call["cost_official_pusd"] as Int64 == 4_500_000_000)
            #expect(call["cache_write_5m_tokens"] as Int64? == nil)
        }
        // The report recompute of the old call still gives its stored cost (no cache writes: unchanged by 0004).
        let book = try ledger.loadPriceBook()
        let row = try #require(book.row(model: "claude-sonnet-4.5", kind: .official, atMicros: 1000))
        #expect(try CostCalculator.cost(for: TokenUsage(promptTokens: 1000, completionTokens: 100), price: row.price).picoUSD
            == 4_500_000_000)
        // New calls go in next to it, and the rollup's new sums count them.
        try ledger.insert([
            PriceDimensionsTests.call(
                id: 2, model: "claude-sonnet-4.5",
                usage: TokenUsage(promptTokens: 2000, completionTokens: 1, cacheWrite5mTokens: 500))
        ])
        let w5 = try ledger.writer.read { try Int64.fetchOne($0, sql: "SELECT sum(cache_write_5m_tokens) FROM call_rollup") }
        #expect(w5 == 500)
        // The rollup triggers of 0004 follow a correction.
        try ledger.writer.write { try $0.execute(sql: "UPDATE call SET cache_write_5m_tokens = 400 WHERE id = 2") }
        let after = try ledger.writer.read { try Int64.fetchOne($0, sql: "SELECT sum(cache_write_5m_tokens) FROM call_rollup") }
        #expect(after == 400)
    }
}
