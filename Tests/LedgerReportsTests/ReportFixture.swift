import GRDB
import LedgerCore
import LedgerStore

/// A small ledger for November 2026 (plus a few calls in October and December that reports must leave out),
/// filled through `LedgerDatabase.insert`, which costs every call from the price book.
enum ReportFixture {
    static let november = try! BillingMonth(year: 2026, month: 11)
    static let hostileTeam = "=HYPERLINK(\"http://x\",\"y\")"

    static func micros(day: Int, hour: Int = 12) -> Int64 {
        UTCDate.days(year: 2026, month: 11, day: day) * UTCDate.microsPerDay + Int64(hour) * 3_600_000_000
    }

    /// A fresh in-memory ledger with the fixture's calls.
    static func ledger() throws -> LedgerDatabase {
        let database = try LedgerDatabase(DatabaseQueue())
        try database.writer.write { db in
            for (id, name) in [(1, "search-prod"), (2, "support-bot"), (3, "ops")] {
                try db.execute(
                    sql: """
                        INSERT INTO api_key (id, name, team, lookup_prefix, salt, secret_sha256, created_at_us)
                        VALUES (?, ?, NULL, ?, x'00', x'00', 0)
                        """, arguments: [id, name, "hsl-0000000\(id)"])
            }
        }
        try database.insert(events())
        return database
    }

    static func events() -> [UsageEvent] {
        var events: [UsageEvent] = []
        var id: Int64 = 0
        func add(
            day: Int, hour: Int = 12, model: String?, kind: ProviderKind? = .holysheep, status: CallStatus = .ok,
            fallback: Bool = false, usage: TokenUsage?, latencyMS: Int64, team: String?, key: Int64? = nil,
            tags: String? = nil, monthOffsetDays: Int64 = 0
        ) {
            id += 1
            let start = micros(day: day, hour: hour) + monthOffsetDays * UTCDate.microsPerDay
            events.append(
                UsageEvent(
                    id: id, startedAtMicros: start, finishedAtMicros: start + latencyMS * 1000,
                    endpoint: "/v1/chat/completions", requestedModel: model, model: model,
                    provider: kind == .official ? "official" : (kind == nil ? nil : "holysheep"), providerKind: kind,
                    status: status, fallbackUsed: fallback, usage: usage, latencyMicros: latencyMS * 1000 + id,
                    keyID: key, team: team, tags: tags))
        }
        let u = { (p: Int64, c: Int64, o: Int64) in
            TokenUsage(promptTokens: p, cachedPromptTokens: c, completionTokens: o)
        }
        add(
            day: 1, model: "gpt-4.1", usage: u(1200, 200, 350), latencyMS: 420, team: "search", key: 1,
            tags: "project=atlas,env=prod")
        add(
            day: 1, hour: 13, model: "gpt-4.1", usage: u(98_765, 0, 12_345), latencyMS: 1310, team: "search", key: 1,
            tags: "project=atlas,env=prod")
        add(
            day: 2, model: "deepseek-v3.2", usage: u(5000, 4000, 777), latencyMS: 95, team: "support", key: 2,
            tags: "project=helpdesk")
        add(day: 2, hour: 14, model: "deepseek-v3.2", usage: u(333, 0, 1), latencyMS: 60, team: "support", key: 2)
        add(
            day: 3, model: "gemini-2.5-flash", usage: u(7, 0, 3), latencyMS: 48, team: hostileTeam, key: 3,
            tags: "env=dev")
        add(
            day: 3, hour: 9, model: "claude-sonnet-4.5", kind: .official, fallback: true, usage: u(2000, 500, 900),
            latencyMS: 2200, team: "search", key: 1, tags: "project=atlas")
        add(
            day: 4, model: "claude-sonnet-4.5", usage: u(10_000, 0, 2_500), latencyMS: 1800, team: "legal, EU", key: nil
        )
        add(
            day: 4, hour: 15, model: "gpt-4.1", status: .upstreamError, usage: nil, latencyMS: 5000, team: "search",
            key: 1)
        add(day: 5, model: "gpt-4.1", status: .interrupted, usage: nil, latencyMS: 900, team: "support", key: 2)
        add(
            day: 6, model: "mystery-model", usage: u(400, 0, 100), latencyMS: 300, team: "support", key: 2,
            tags: "project=helpdesk")
        add(day: 10, model: "gpt-4.1", usage: u(1, 0, 1), latencyMS: 250, team: nil)
        add(day: 15, model: "deepseek-v3.2", status: .timeout, usage: nil, latencyMS: 30_000, team: "search", key: 1)
        add(
            day: 20, model: "gemini-2.5-flash", usage: u(123_456, 23_456, 7_890), latencyMS: 640, team: "-ops", key: 3,
            tags: "env=prod,project=atlas")
        add(day: 30, hour: 23, model: "gpt-4.1", usage: u(3, 1, 2), latencyMS: 333, team: "search", key: 1)
        // Outside November: 31 October and 1 December.
        add(
            day: 1, hour: 0, model: "gpt-4.1", usage: u(1_000_000, 0, 1_000_000), latencyMS: 100, team: "search",
            monthOffsetDays: -1)
        add(
            day: 30, hour: 12, model: "gpt-4.1", usage: u(1_000_000, 0, 1_000_000), latencyMS: 100, team: "search",
            monthOffsetDays: 1)
        return events
    }

    /// A ledger with calls of every price dimension (migrations/0004), in November 2026.
    static func dimensionsLedger() throws -> LedgerDatabase {
        let database = try LedgerDatabase(DatabaseQueue())
        // A model with an official price and no HolySheep row; another with a HolySheep price only.
        try database.addPrices(
            [
                PriceBookEntry(
                    kind: .official, model: "o3", price: ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000),
                    effectiveFromMicros: 0, source: "OpenAI pricing page"),
                PriceBookEntry(
                    kind: .holysheep, model: "relay-only", price: ModelPrice(input: 100_000, cachedInput: 10_000, output: 200_000),
                    effectiveFromMicros: 0, source: "HolySheep list"),
                PriceBookEntry(
                    kind: .official, model: "gpt-4o-audio", price: ModelPrice(
                        input: 2_500_000, cachedInput: 1_250_000, output: 10_000_000, inputAudio: 40_000_000,
                        outputAudio: 80_000_000),
                    effectiveFromMicros: 0, source: "OpenAI pricing page"),
                PriceBookEntry(
                    kind: .holysheep, model: "gpt-4o-audio", price: ModelPrice(
                        input: 400_000, cachedInput: 200_000, output: 1_600_000, inputAudio: 6_400_000,
                        outputAudio: 12_800_000),
                    effectiveFromMicros: 0, source: "HolySheep = official x 0.16"),
            ], nowMicros: 1)
        try database.insert(dimensionEvents())
        return database
    }

    static func dimensionEvents() -> [UsageEvent] {
        var events: [UsageEvent] = []
        func add(day: Int, model: String, kind: ProviderKind = .holysheep, usage: TokenUsage, team: String) {
            let id = Int64(events.count + 1)
            let start = micros(day: day)
            events.append(
                UsageEvent(
                    id: id, startedAtMicros: start, finishedAtMicros: start + 1000, endpoint: "/v1/chat/completions",
                    requestedModel: model, model: model, provider: kind.rawValue, providerKind: kind, status: .ok,
                    fallbackUsed: kind == .official, usage: usage, latencyMicros: 1000 + id, team: team,
                    tags: "project=p\(id % 2)"))
        }
        let anthropic = TokenUsage(
            promptTokens: 15_000, cachedPromptTokens: 10_000, completionTokens: 500, cacheWrite5mTokens: 1000,
            cacheWrite1hTokens: 2000, serviceTier: "standard")
        add(day: 1, model: "claude-sonnet-4.5", usage: anthropic, team: "a")
        add(day: 1, model: "claude-sonnet-4.5", kind: .official, usage: anthropic, team: "b")
        add(day: 2, model: "claude-sonnet-4.5", usage: TokenUsage(
            promptTokens: 250_000, cachedPromptTokens: 40_000, completionTokens: 1000, cacheWrite1hTokens: 9000),
            team: "a")
        add(day: 2, model: "gpt-4.1", usage: TokenUsage(promptTokens: 1000, completionTokens: 1000, serviceTier: "priority"),
            team: "b")
        add(day: 3, model: "gpt-4.1", usage: TokenUsage(promptTokens: 1000, completionTokens: 1000, serviceTier: "default"),
            team: "b")
        add(day: 3, model: "gemini-2.5-flash", usage: TokenUsage(promptTokens: 1000, completionTokens: 10, audioPromptTokens: 400),
            team: "a")
        add(day: 4, model: "gpt-4o-audio", usage: TokenUsage(
            promptTokens: 1000, completionTokens: 500, audioPromptTokens: 600, audioCompletionTokens: 400), team: "c")
        add(day: 4, model: "o3", usage: TokenUsage(promptTokens: 700, completionTokens: 70), team: "c")
        add(day: 5, model: "o3", kind: .official, usage: TokenUsage(promptTokens: 700, completionTokens: 70), team: "c")
        add(day: 6, model: "o3", usage: TokenUsage(promptTokens: 10, completionTokens: 1), team: "a")
        add(day: 5, model: "relay-only", usage: TokenUsage(promptTokens: 50, completionTokens: 5), team: "a")
        return events
    }
}
