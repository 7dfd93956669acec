/// One row of the shipped price book.
package struct PriceBookEntry: Sendable, Hashable, Codable {
    package var kind: ProviderKind
    package var model: String
    package var price: ModelPrice
    package var currency: String
    /// Microseconds since the epoch from which the price applies.
    package var effectiveFromMicros: Int64
    /// Where the number comes from.
    package var source: String
    /// 0: the row applies to every call. Otherwise a long-context tier: it prices the whole call when the call's
    /// input (uncached + cache reads + cache writes + audio) exceeds this many tokens.
    package var minPromptTokens: Int64
    /// nil: every service tier. Otherwise the row applies only to calls whose reply reports this `service_tier`.
    package var serviceTier: String?

    package init(
        kind: ProviderKind, model: String, price: ModelPrice, currency: String = "USD", effectiveFromMicros: Int64,
        source: String, minPromptTokens: Int64 = 0, serviceTier: String? = nil
    ) {
        self.kind = kind
        self.model = model
        self.price = price
        self.currency = currency
        self.effectiveFromMicros = effectiveFromMicros
        self.source = source
        self.minPromptTokens = minPromptTokens
        self.serviceTier = serviceTier
    }
}

/// The prices the ledger ships with, effective from 1970-01-01 so that any call has one.
/// migrations/0002 and 0004 hold the same rows as data; `LedgerDatabaseTests` checks that they agree.
package enum DefaultPrices {
    /// HolySheep charges official × 16/100 (the "84% saving" of the migration guide) unless a row says otherwise.
    package static let holySheepNumerator: Int64 = 16
    package static let holySheepDenominator: Int64 = 100

    /// Official list prices in micro-USD per million tokens, each with its source.
    package static let official: [(model: String, price: ModelPrice, minPromptTokens: Int64, serviceTier: String?, source: String)] = [
        ("gpt-4.1", ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000), 0, nil,
         "OpenAI API pricing page, gpt-4.1 (USD per 1M tokens: 2.00 / 0.50 cached / 8.00)"),
        ("gpt-4.1", ModelPrice(input: 3_500_000, cachedInput: 875_000, output: 14_000_000), 0, "priority",
         "OpenAI API pricing page, Priority processing, gpt-4.1 (USD per 1M tokens: 3.50 / 0.875 cached / 14.00)"),
        ("claude-sonnet-4.5",
         ModelPrice(input: 3_000_000, cachedInput: 300_000, output: 15_000_000, cacheWriteInput: 3_750_000,
                    cacheWrite1hInput: 6_000_000), 0, nil,
         "Anthropic pricing page, Claude Sonnet 4.5 (USD per 1M tokens: 3.00 / 0.30 cache read / 15.00); "
            + "cache writes 3.75 (5m) / 6.00 (1h): docs.anthropic.com prompt caching pricing"),
        ("claude-sonnet-4.5",
         ModelPrice(input: 6_000_000, cachedInput: 600_000, output: 22_500_000, cacheWriteInput: 7_500_000,
                    cacheWrite1hInput: 12_000_000), 200_000, nil,
         "Anthropic pricing page, Claude Sonnet 4.5 long context, prompts > 200K tokens (USD per 1M tokens: "
            + "6.00 / 0.60 cache read / 7.50 cache write 5m / 12.00 cache write 1h / 22.50)"),
        ("gemini-2.5-flash", ModelPrice(input: 300_000, cachedInput: 75_000, output: 2_500_000, inputAudio: 1_000_000),
         0, nil,
         "Google Gemini API pricing page, Gemini 2.5 Flash (USD per 1M tokens: 0.30 text/image/video, "
            + "1.00 audio input / 0.075 cached / 2.50)"),
        ("deepseek-v3.2", ModelPrice(input: 280_000, cachedInput: 28_000, output: 420_000), 0, nil,
         "DeepSeek API pricing page, deepseek-v3.2 (USD per 1M tokens: 0.28 / 0.028 cache hit / 0.42)"),
        ("text-embedding-3-small", ModelPrice(input: 20_000, cachedInput: 20_000, output: 0), 0, nil,
         "OpenAI API pricing page, text-embedding-3-small (USD 0.02 per 1M input tokens)"),
        ("text-embedding-3-large", ModelPrice(input: 130_000, cachedInput: 130_000, output: 0), 0, nil,
         "OpenAI API pricing page, text-embedding-3-large (USD 0.13 per 1M input tokens)"),
    ]

    /// The whole default book: each official row and its HolySheep row at official × 0.16.
    package static var entries: [PriceBookEntry] {
        official.flatMap { row -> [PriceBookEntry] in
            // Every shipped price × 16/100 is a whole micro-USD; a row that were not would fail the unit tests.
            let relay = (try? row.price.scaled(numerator: holySheepNumerator, denominator: holySheepDenominator))
                ?? row.price
            return [
                PriceBookEntry(
                    kind: .official, model: row.model, price: row.price, effectiveFromMicros: 0, source: row.source,
                    minPromptTokens: row.minPromptTokens, serviceTier: row.serviceTier),
                PriceBookEntry(
                    kind: .holysheep, model: row.model, price: relay, effectiveFromMicros: 0,
                    source: "HolySheep = official x 0.16 (84% saving, migration guide ROI table)",
                    minPromptTokens: row.minPromptTokens, serviceTier: row.serviceTier),
            ]
        }
    }
}
