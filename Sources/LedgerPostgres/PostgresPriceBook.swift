package import LedgerCore
import Logging
import PostgresNIO

/// The whole `price` table in memory, to cost calls without a query per call. The selection rule is that of the
/// SQLite store's `PriceBook` (LedgerStore, bound to GRDB for loading, so not importable here): the row in effect at
/// a time is the latest whose `effective_from_us` is at or before it. Only that selection is repeated here.
package struct PostgresPriceBook: Sendable, PriceLookup {
    package struct Row: Sendable, Hashable {
        package var id: Int64
        package var kind: ProviderKind
        package var model: String
        package var price: ModelPrice
        package var effectiveFromMicros: Int64
    }

    /// Rows per (kind, model), sorted by effective_from ascending.
    private var rows: [ProviderKind: [String: [Row]]] = [:]

    package init(rows allRows: [Row]) {
        var grouped: [ProviderKind: [String: [Row]]] = [:]
        for row in allRows { grouped[row.kind, default: [:]][row.model, default: []].append(row) }
        rows = grouped.mapValues { $0.mapValues { $0.sorted { $0.effectiveFromMicros < $1.effectiveFromMicros } } }
    }

    static func load(_ connection: PostgresConnection, logger: Logger) async throws -> PostgresPriceBook {
        let result = try await connection.query(
            """
            SELECT id, provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok, output_musd_per_mtok,
                   effective_from_us FROM price
            """, logger: logger)
        var all: [Row] = []
        for try await (id, kind, model, input, cached, output, from) in result.decode(
            (Int64, String, String, Int64, Int64, Int64, Int64).self)
        {
            guard let kind = ProviderKind(rawValue: kind) else { continue }
            all.append(
                Row(
                    id: id, kind: kind, model: model, price: ModelPrice(input: input, cachedInput: cached, output: output),
                    effectiveFromMicros: from))
        }
        return PostgresPriceBook(rows: all)
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

    /// Every model with a price on either list in effect at `micros`, sorted (for `/v1/models`).
    package func models(atMicros micros: Int64) -> [String] {
        models.filter { model in
            row(model: model, kind: .official, atMicros: micros) != nil
                || row(model: model, kind: .holysheep, atMicros: micros) != nil
        }.sorted()
    }
}

/// The three costs of a call and the price rows they came from (as the SQLite store's `CallRecord.Costing`).
struct CallCosting: Sendable {
    var status: String
    var officialPriceID: Int64?
    var holysheepPriceID: Int64?
    var paid: Int64?
    var official: Int64?
    var holysheep: Int64?

    init(
        status: String, officialPriceID: Int64? = nil, holysheepPriceID: Int64? = nil, paid: Int64? = nil,
        official: Int64? = nil, holysheep: Int64? = nil
    ) {
        self.status = status
        self.officialPriceID = officialPriceID
        self.holysheepPriceID = holysheepPriceID
        self.paid = paid
        self.official = official
        self.holysheep = holysheep
    }

    init(_ event: UsageEvent, book: PostgresPriceBook) throws {
        guard let usage = event.usage else {
            self.init(status: "no_usage")
            return
        }
        guard let model = event.model,
            let official = book.row(model: model, kind: .official, atMicros: event.startedAtMicros),
            let relay = book.row(model: model, kind: .holysheep, atMicros: event.startedAtMicros)
        else {
            self.init(status: "unpriced")
            return
        }
        let officialCost = try CostCalculator.cost(for: usage, price: official.price)
        let relayCost = try CostCalculator.cost(for: usage, price: relay.price)
        let paid = event.providerKind == .official ? officialCost : relayCost
        guard let o = Int64(exactly: officialCost.picoUSD), let h = Int64(exactly: relayCost.picoUSD),
            let p = Int64(exactly: paid.picoUSD)
        else { throw CostError.overflow }
        self.init(
            status: "priced", officialPriceID: official.id, holysheepPriceID: relay.id, paid: p, official: o,
            holysheep: h)
    }
}
