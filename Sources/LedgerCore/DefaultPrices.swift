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

    package init(
        kind: ProviderKind, model: String, price: ModelPrice, currency: String = "USD", effectiveFromMicros: Int64,
        source: String
    ) {
        self.kind = kind
        self.model = model
        self.price = price
        self.currency = currency
        self.effectiveFromMicros = effectiveFromMicros
        self.source = source
    }
}

/// The prices the ledger ships with, effective from 1970-01-01 so that any call has one.
package enum DefaultPrices {
    /// HolySheep charges official × 16/100 (the "84% saving" of the migration guide) unless a row says otherwise.
    package static let holySheepNumerator: Int64 = 16
    package static let holySheepDenominator: Int64 = 100

    /// (model, input, cached input, output) in micro-USD per million tokens, and the source of each.
    package static let official: [(model: String, price: ModelPrice, source: String)] = [
        ("gpt-4.1", ModelPrice(input: 2_000_000, cachedInput: 500_000, output: 8_000_000),
         "OpenAI API pricing page, gpt-4.1 (USD per 1M tokens: 2.00 / 0.50 cached / 8.00)"),
        ("claude-sonnet-4.5", ModelPrice(input: 3_000_000, cachedInput: 300_000, output: 15_000_000),
         "Anthropic pricing page, Claude Sonnet 4.5 (USD per 1M tokens: 3.00 / 0.30 cache read / 15.00)"),
        ("gemini-2.5-flash", ModelPrice(input: 300_000, cachedInput: 75_000, output: 2_500_000),
         "Google Gemini API pricing page, Gemini 2.5 Flash (USD per 1M tokens: 0.30 / 0.075 cached / 2.50)"),
        ("deepseek-v3.2", ModelPrice(input: 280_000, cachedInput: 28_000, output: 420_000),
         "DeepSeek API pricing page, deepseek-v3.2 (USD per 1M tokens: 0.28 / 0.028 cache hit / 0.42)"),
        ("text-embedding-3-small", ModelPrice(input: 20_000, cachedInput: 20_000, output: 0),
         "OpenAI API pricing page, text-embedding-3-small (USD 0.02 per 1M input tokens)"),
        ("text-embedding-3-large", ModelPrice(input: 130_000, cachedInput: 130_000, output: 0),
         "OpenAI API pricing page, text-embedding-3-large (USD 0.13 per 1M input tokens)"),
    ]

    /// The whole default book: each official row and its HolySheep row at official × 0.16.
    package static var entries: [PriceBookEntry] {
        official.flatMap { row -> [PriceBookEntry] in
            // Every shipped price × 16/100 is a whole micro-USD; a row that were not would fail the unit tests.
            let relay = (try? row.price.scaled(numerator: holySheepNumerator, denominator: holySheepDenominator))
                ?? row.price
            return [
                PriceBookEntry(kind: .official, model: row.model, price: row.price, effectiveFromMicros: 0, source: row.source),
                PriceBookEntry(
                    kind: .holysheep, model: row.model, price: relay, effectiveFromMicros: 0,
                    source: "HolySheep = official × 0.16 (84% saving, migration guide ROI table)"),
            ]
        }
    }
}
