import GRDB
import LedgerCore
import LedgerStore
import Testing

/// Price import and changes: all-or-nothing, effective-dated, never rewriting recorded calls.
@Suite struct PriceBookChangeTests {
    static let dec1 = UTCDate.micros(parsing: "2026-12-01")!

    static func call(id: Int64, model: String, at micros: Int64) -> UsageEvent {
        UsageEvent(
            id: id, startedAtMicros: micros, finishedAtMicros: micros + 1, endpoint: "/v1/chat/completions",
            model: model, provider: "holysheep", providerKind: .holysheep, status: .ok,
            usage: TokenUsage(promptTokens: 0, completionTokens: 1_000_000), latencyMicros: 1)
    }

    private func count(_ ledger: LedgerDatabase, _ table: String) throws -> Int {
        try ledger.writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM \(table)") ?? -1 }
    }

    @Test func aValidCSVAddsEveryRowExactly() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let csv = """
            provider_kind,model,input,cached_input,output,effective_from,source
            official,gpt-5,1.25,0.125,10,2026-12-01,"OpenAI pricing, ""GPT-5"", 2026-11-30"
            holysheep,gpt-5,0.2,0.02,1.6,2026-12-01T00:00:00Z,HolySheep list

            """
        try ledger.importPrices(csv: csv, nowMicros: 1)
        let book = try ledger.loadPriceBook()
        #expect(
            book.price(model: "gpt-5", kind: .official, atMicros: Self.dec1)
                == ModelPrice(input: 1_250_000, cachedInput: 125_000, output: 10_000_000))
        #expect(
            book.price(model: "gpt-5", kind: .holysheep, atMicros: Self.dec1)
                == ModelPrice(input: 200_000, cachedInput: 20_000, output: 1_600_000))
        #expect(
            book.row(model: "gpt-5", kind: .official, atMicros: Self.dec1)?.source
                == "OpenAI pricing, \"GPT-5\", 2026-11-30")
        #expect(book.price(model: "gpt-5", kind: .official, atMicros: Self.dec1 - 1) == nil)
    }

    @Test(arguments: [
        ("official,gpt-5,1.25,0.125,10,2026-12-01,src\nofficial,gpt-6,1.2345678,0,1,2026-12-01,src", 3, "input"),
        ("official,gpt-5,1.25,0.125,10,2026-12-01,src\nofficial,gpt-6,1,0,1,2026-13-01,src", 3, "effective_from"),
        ("official,gpt-5,1.25,0.125,10,2026-12-01,src\nretail,gpt-6,1,0,1,2026-12-01,src", 3, "provider_kind"),
        ("official,gpt-5,1.25,0.125,10,2026-12-01,src\nofficial,gpt-6,1,0,1,2026-12-01", 3, "fields"),
        ("official,gpt-5,1.25,0.125,10,2026-12-01,src\nofficial,gpt-5,1,0,1,2026-12-01,src", 3, "repeats"),
        ("official,gpt-5,-1,0,10,2026-12-01,src", 2, "input"),
        ("official,gpt-5,1,0,10,2026-12-01,", 2, "source"),
        ("official,gpt-4.1,1,0,10,1970-01-01,src", 2, "already exists"),
    ])
    func oneBadRowRejectsTheWholeFileNamingItsLine(rows: String, line: Int, reason: String) throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let csv = "provider_kind,model,input,cached_input,output,effective_from,source\n" + rows + "\n"
        #expect {
            try ledger.importPrices(csv: csv, nowMicros: 1)
        } throws: { error in
            guard case .invalidPriceCSV(let badLine, let message) = error as? LedgerStoreError else { return false }
            return badLine == line && message.contains(reason)
        }
        #expect(try count(ledger, "price") == DefaultPrices.entries.count)
    }

    @Test func aWrongHeaderIsRejected() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        #expect(throws: LedgerStoreError.self) {
            try ledger.importPrices(csv: "model,input\ngpt-5,1\n", nowMicros: 1)
        }
        #expect(try count(ledger, "price") == DefaultPrices.entries.count)
    }

    @Test func aPriceChangeAppliesFromItsDateAndRecordedCallsKeepTheirCosts() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        let before = Self.dec1 - 1
        try ledger.insert([Self.call(id: 1, model: "gpt-4.1", at: before)])
        try ledger.addPrices(
            [
                PriceBookEntry(
                    kind: .holysheep, model: "gpt-4.1", price: ModelPrice(input: 0, cachedInput: 0, output: 1_000_000),
                    effectiveFromMicros: Self.dec1, source: "test")
            ], nowMicros: 2)
        // A call started before the change is still costed at the old price; one after at the new.
        try ledger.insert([
            Self.call(id: 2, model: "gpt-4.1", at: before), Self.call(id: 3, model: "gpt-4.1", at: Self.dec1),
        ])
        let costs = try ledger.writer.read {
            try Int64.fetchAll($0, sql: "SELECT cost_holysheep_pusd FROM call ORDER BY id")
        }
        // 1M output tokens: $1.28 at the default HolySheep price, $1.00 from Dec 1.
        #expect(costs == [1_280_000_000_000, 1_280_000_000_000, 1_000_000_000_000])
        #expect(throws: LedgerStoreError.self) {
            try ledger.addPrices(
                [
                    PriceBookEntry(
                        kind: .holysheep, model: "gpt-4.1", price: ModelPrice(input: 1, cachedInput: 1, output: 1),
                        effectiveFromMicros: Self.dec1, source: "again")
                ],
                nowMicros: 3)
        }
    }

    @Test func aModelWithoutAPriceIsRecordedUnpricedNeverAtZero() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        try ledger.insert([Self.call(id: 1, model: "mystery-model", at: Self.dec1)])
        let row = try #require(try ledger.writer.read { try Row.fetchOne($0, sql: "SELECT * FROM call") })
        #expect(row["price_status"] as String == "unpriced")
        #expect(row["completion_tokens"] as Int64 == 1_000_000)
        #expect(row["cost_paid_pusd"] as Int64? == nil)
        #expect(row["cost_official_pusd"] as Int64? == nil)
        #expect(row["cost_holysheep_pusd"] as Int64? == nil)
    }

    @Test func pricesInEffectListOneRowPerListAndModel() throws {
        let ledger = try LedgerDatabase(DatabaseQueue())
        try ledger.addPrices(
            [
                PriceBookEntry(
                    kind: .official, model: "gpt-4.1", price: ModelPrice(input: 1, cachedInput: 1, output: 1),
                    effectiveFromMicros: Self.dec1, source: "new")
            ],
            nowMicros: 1)
        let now = try ledger.prices(atMicros: Self.dec1)
        #expect(now.count == DefaultPrices.entries.count)
        #expect(now.first { $0.model == "gpt-4.1" && $0.kind == .official }?.source == "new")
        let earlier = try ledger.prices(atMicros: Self.dec1 - 1)
        #expect(
            earlier.first { $0.model == "gpt-4.1" && $0.kind == .official }?.price.outputMicroUSDPerMTok == 8_000_000)
        #expect(try ledger.prices(atMicros: 0, history: true).count == DefaultPrices.entries.count + 1)
    }
}
