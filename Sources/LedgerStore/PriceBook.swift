package import GRDB
package import LedgerCore

/// The whole `price` table in memory, to cost calls without a query per call.
package struct PriceBook: Sendable, PriceLookup {
    /// One price row.
    package struct Row: Sendable, Hashable {
        package var id: Int64
        package var kind: ProviderKind
        package var model: String
        package var price: ModelPrice
        package var effectiveFromMicros: Int64
        package var source: String
    }

    /// Rows per (kind, model), sorted by effective_from ascending.
    fileprivate var rows: [ProviderKind: [String: [Row]]] = [:]

    package init(rows allRows: [Row]) {
        var grouped: [ProviderKind: [String: [Row]]] = [:]
        for row in allRows { grouped[row.kind, default: [:]][row.model, default: []].append(row) }
        rows = grouped.mapValues { $0.mapValues { $0.sorted { $0.effectiveFromMicros < $1.effectiveFromMicros } } }
    }

    package static func load(_ db: Database) throws -> PriceBook {
        let cursor = try GRDB.Row.fetchCursor(
            db,
            sql: """
                SELECT id, provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok,
                       output_musd_per_mtok, effective_from_us, source FROM price
                """)
        var all: [Row] = []
        while let r = try cursor.next() {
            guard let kind = ProviderKind(rawValue: r[1]) else { continue }
            all.append(
                Row(
                    id: r[0], kind: kind, model: r[2], price: ModelPrice(input: r[3], cachedInput: r[4], output: r[5]),
                    effectiveFromMicros: r[6], source: r[7]))
        }
        return PriceBook(rows: all)
    }

    /// The row in effect at `micros`: the latest whose effective_from is at or before it.
    package func row(model: String, kind: ProviderKind, atMicros micros: Int64) -> Row? {
        rows[kind]?[model]?.last { $0.effectiveFromMicros <= micros }
    }

    package func price(model: String, kind: ProviderKind, atMicros micros: Int64) -> ModelPrice? {
        row(model: model, kind: kind, atMicros: micros)?.price
    }

    /// Every model that has a price on either list.
    package var models: Set<String> { Set(rows.values.flatMap(\.keys)) }
}

extension PriceBook {
    /// Every row, in no particular order.
    package var allRows: [Row] { rows.values.flatMap { $0.values.flatMap { $0 } } }
}
