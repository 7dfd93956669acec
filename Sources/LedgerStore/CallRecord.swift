import GRDB
import LedgerCore

/// Writes `call` rows with a cached prepared statement (STYLE.md §4: the hot path avoids `Record.insert`).
/// `insertSQL` is `package` so the writer benchmark inserts the very same rows with the raw SQLite API.
package enum CallRecord {
    package static let insertSQL = """
        INSERT INTO call (
            id, started_at_us, finished_at_us, month, endpoint, requested_model, model, provider, provider_kind,
            stream, status, http_status, error_type, attempts, fallback_used,
            prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, usage_source,
            latency_us, upstream_latency_us, ttft_us, queue_wait_us, inflight_at_admission,
            key_id, team, tags, upstream_request_id,
            price_status, official_price_id, holysheep_price_id, cost_paid_pusd, cost_official_pusd, cost_holysheep_pusd
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// The three costs of a call and the price rows they came from.
    struct Costing {
        var status: String
        var officialPriceID: Int64?
        var holysheepPriceID: Int64?
        var paid: Int64?
        var official: Int64?
        var holysheep: Int64?
    }

    static func costing(_ event: UsageEvent, book: PriceBook) throws -> Costing {
        guard let usage = event.usage else { return Costing(status: "no_usage") }
        guard let model = event.model,
            let official = book.row(model: model, kind: .official, atMicros: event.startedAtMicros),
            let relay = book.row(model: model, kind: .holysheep, atMicros: event.startedAtMicros)
        else { return Costing(status: "unpriced") }
        let officialCost = try CostCalculator.cost(for: usage, price: official.price)
        let relayCost = try CostCalculator.cost(for: usage, price: relay.price)
        let paid = event.providerKind == .official ? officialCost : relayCost
        guard let o = Int64(exactly: officialCost.picoUSD), let h = Int64(exactly: relayCost.picoUSD),
            let p = Int64(exactly: paid.picoUSD)
        else { throw CostError.overflow }
        return Costing(
            status: "priced", officialPriceID: official.id, holysheepPriceID: relay.id, paid: p, official: o,
            holysheep: h)
    }

    static func insert(_ event: UsageEvent, book: PriceBook, db: Database) throws {
        let c = try costing(event, book: book)
        let u = event.usage
        let statement = try db.cachedStatement(sql: insertSQL)
        let values: [(any DatabaseValueConvertible)?] = [
            event.id, event.startedAtMicros, event.finishedAtMicros, BillingMonth(containing: event.startedAtMicros).code,
            event.endpoint, event.requestedModel, event.model, event.provider, event.providerKind?.rawValue,
            event.stream, event.status.rawValue, event.httpStatus, event.errorType, event.attempts, event.fallbackUsed,
            u?.promptTokens, u?.cachedPromptTokens, u?.completionTokens, u?.reasoningTokens,
            u == nil ? "missing" : "upstream",
            event.latencyMicros, event.upstreamLatencyMicros, event.timeToFirstTokenMicros, event.queueWaitMicros,
            event.inflightAtAdmission, event.keyID, event.team, event.tags, event.upstreamRequestID,
            c.status, c.officialPriceID, c.holysheepPriceID, c.paid, c.official, c.holysheep,
        ]
        try statement.execute(arguments: StatementArguments(values))
    }
}
