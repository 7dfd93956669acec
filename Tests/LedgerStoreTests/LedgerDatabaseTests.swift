import GRDB
import LedgerCore
import LedgerStore
import Testing

@Suite struct LedgerDatabaseTests {
    @Test func migratedPriceBookEqualsTheShippedDefaults() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let book = try ledger.writer.read { try PriceBook.load($0) }
        for entry in DefaultPrices.entries {
            let row = book.allRows.first {
                $0.kind == entry.kind && $0.model == entry.model && $0.minPromptTokens == entry.minPromptTokens
                    && $0.serviceTier == entry.serviceTier && $0.effectiveFromMicros == 0
            }
            #expect(row?.price == entry.price, "\(entry.kind) \(entry.model) \(entry.minPromptTokens) \(entry.serviceTier ?? "")")
        }
        let count = try ledger.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM price") }
        #expect(count == DefaultPrices.entries.count)
    }

    @Test func insertCostsACallThreeWays() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let event = UsageEvent(
            id: 1, startedAtMicros: 1_000, finishedAtMicros: 2_000, endpoint: "/v1/chat/completions", model: "gpt-4.1",
            provider: "official", providerKind: .official, status: .ok,
            usage: TokenUsage(promptTokens: 1000, cachedPromptTokens: 200, completionTokens: 500), latencyMicros: 1_000)
        try ledger.insert([event])
        let row = try #require(try ledger.writer.read { try Row.fetchOne($0, sql: "SELECT * FROM call") })
        // 800 × 2.00 + 200 × 0.50 + 500 × 8.00 µUSD/MTok×tok = 1_600_000_000 + 100_000_000 + 4_000_000_000 pico
        #expect(row["cost_official_pusd"] as Int64 == 5_700_000_000)
        #expect(row["cost_holysheep_pusd"] as Int64 == 912_000_000)
        #expect(row["cost_paid_pusd"] as Int64 == 5_700_000_000)
        #expect(row["price_status"] as String == "priced")
    }
}
