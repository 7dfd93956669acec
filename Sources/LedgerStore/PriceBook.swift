package import GRDB
package import LedgerCore

/// The whole `price` table in memory, to cost calls without a query per call.
///
/// Each (list, model) has a base series (rows for every call and every service tier) and may have tier series: a
/// long-context tier (`minPromptTokens` > 0) or a service tier (`serviceTier`), or both. Each series is effective-dated
/// on its own. A call is priced at the most specific row that applies to it (`row(model:kind:atMicros:usage:)`).
package struct PriceBook: Sendable, PriceLookup {
    /// One price row.
    package struct Row: Sendable, Hashable {
        package var id: Int64
        package var kind: ProviderKind
        package var model: String
        package var price: ModelPrice
        package var effectiveFromMicros: Int64
        package var source: String
        /// 0: every call; N: only calls whose whole input exceeds N tokens (and then the whole call).
        package var minPromptTokens: Int64 = 0
        /// nil: every service tier; otherwise only calls whose reply reports this tier.
        package var serviceTier: String? = nil

        package init(
            id: Int64, kind: ProviderKind, model: String, price: ModelPrice, effectiveFromMicros: Int64,
            source: String, minPromptTokens: Int64 = 0, serviceTier: String? = nil
        ) {
            self.id = id
            self.kind = kind
            self.model = model
            self.price = price
            self.effectiveFromMicros = effectiveFromMicros
            self.source = source
            self.minPromptTokens = minPromptTokens
            self.serviceTier = serviceTier
        }

        /// True for a row of the base series (every call, every tier).
        package var isBase: Bool { minPromptTokens == 0 && serviceTier == nil }

        /// Whether this row's conditions cover `usage`.
        package func applies(to usage: TokenUsage) -> Bool {
            if let tier = serviceTier, tier != usage.serviceTier { return false }
            return minPromptTokens == 0 || usage.promptTokens > minPromptTokens
        }
    }

    /// One effective-dated series: the rows of one (list, model, threshold, tier), by effective_from ascending.
    fileprivate struct Series: Sendable {
        var minPromptTokens: Int64
        var serviceTier: String?
        var rows: [Row]
    }

    /// Series per (kind, model); the base series (if any) first, then the others by specificity, most specific last.
    fileprivate var series: [ProviderKind: [String: [Series]]] = [:]

    package init(rows allRows: [Row]) {
        var grouped: [ProviderKind: [String: [Row]]] = [:]
        for row in allRows { grouped[row.kind, default: [:]][row.model, default: []].append(row) }
        series = grouped.mapValues { byModel in
            byModel.mapValues { rows in
                var bySeries: [String: Series] = [:]
                for row in rows {
                    let key = "\(row.minPromptTokens)|\(row.serviceTier ?? "")|\(row.serviceTier == nil)"
                    bySeries[key, default: Series(minPromptTokens: row.minPromptTokens, serviceTier: row.serviceTier, rows: [])]
                        .rows.append(row)
                }
                return bySeries.values.map { s in
                    var s = s
                    s.rows.sort { $0.effectiveFromMicros < $1.effectiveFromMicros }
                    return s
                }
                .sorted { Self.specificity($0) < Self.specificity($1) }
            }
        }
    }

    /// A service-tier match outranks a long-context tier; a higher threshold outranks a lower one.
    private static func specificity(_ s: Series) -> (Int, Int64) { (s.serviceTier == nil ? 0 : 1, s.minPromptTokens) }

    package static let selectSQL = """
        SELECT id, provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok, output_musd_per_mtok,
               effective_from_us, source, cache_write_input_musd_per_mtok, cache_write_1h_input_musd_per_mtok,
               input_audio_musd_per_mtok, output_audio_musd_per_mtok, min_prompt_tokens, service_tier
        FROM price
        """

    package static func load(_ db: Database) throws -> PriceBook {
        let cursor = try GRDB.Row.fetchCursor(db, sql: selectSQL)
        var all: [Row] = []
        while let r = try cursor.next() {
            guard let kind = ProviderKind(rawValue: r[1]) else { continue }
            let tier: String = r[13]
            all.append(
                Row(
                    id: r[0], kind: kind, model: r[2],
                    price: ModelPrice(
                        input: r[3], cachedInput: r[4], output: r[5], cacheWriteInput: r[8], cacheWrite1hInput: r[9],
                        inputAudio: r[10], outputAudio: r[11]),
                    effectiveFromMicros: r[6], source: r[7], minPromptTokens: r[12],
                    serviceTier: tier.isEmpty ? nil : tier))
        }
        return PriceBook(rows: all)
    }

    /// The base row in effect at `micros`: the latest of the base series whose effective_from is at or before it.
    package func row(model: String, kind: ProviderKind, atMicros micros: Int64) -> Row? {
        series[kind]?[model]?.first { $0.minPromptTokens == 0 && $0.serviceTier == nil }?
            .rows.last { $0.effectiveFromMicros <= micros }
    }

    /// The row that prices `usage` at `micros`: among the series whose conditions cover the call (its service tier,
    /// its whole input above a tier's threshold), the most specific one's row in effect then. Nil when none covers it.
    package func row(model: String, kind: ProviderKind, atMicros micros: Int64, usage: TokenUsage) -> Row? {
        guard let all = series[kind]?[model] else { return nil }
        for s in all.reversed() {
            guard let row = s.rows.last(where: { $0.effectiveFromMicros <= micros }), row.applies(to: usage) else {
                continue
            }
            return row
        }
        return nil
    }

    package func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice? {
        row(model: model, kind: kind, atMicros: micros)?.price
    }

    /// Every row in effect at `micros`: the latest of each series.
    package func rowsInEffect(atMicros micros: Int64) -> [Row] {
        series.values.flatMap { $0.values.flatMap { $0.compactMap { s in s.rows.last { $0.effectiveFromMicros <= micros } } } }
    }

    /// The rows of `model` on the `kind` list in effect at `micros`: the latest of each of its series (budgets
    /// reserve at the dearest of them).
    package func rowsInEffect(model: String, kind: ProviderKind, atMicros micros: Int64) -> [Row] {
        (series[kind]?[model] ?? []).compactMap { s in s.rows.last { $0.effectiveFromMicros <= micros } }
    }

    /// The row a new `entry` would follow: the latest of its own series effective before it (for the typo guard).
    package func previous(of entry: PriceBookEntry) -> Row? {
        series[entry.kind]?[entry.model]?
            .first { $0.minPromptTokens == entry.minPromptTokens && $0.serviceTier == entry.serviceTier }?
            .rows.last { $0.effectiveFromMicros < entry.effectiveFromMicros }
    }

    /// Every model that has a price on either list.
    package var models: Set<String> { Set(series.values.flatMap(\.keys)) }
}

extension PriceBook {
    /// Every row, in no particular order.
    package var allRows: [Row] { series.values.flatMap { $0.values.flatMap { $0.flatMap(\.rows) } } }
}
