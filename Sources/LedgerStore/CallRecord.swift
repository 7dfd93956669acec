import GRDB
import GRDBSQLite
package import LedgerCore

/// Writes `call` rows with a cached prepared statement (the hot path avoids `Record.insert`, measured 3.6x slower in batches).
/// `insertSQL` is `package` so the writer benchmark inserts the very same rows with the raw SQLite API.
package enum CallRecord {
    package static let insertSQL = """
        INSERT INTO call (
            id, started_at_us, finished_at_us, month, endpoint, requested_model, model, provider, provider_kind,
            stream, status, http_status, error_type, attempts, fallback_used,
            prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens, usage_source,
            latency_us, upstream_latency_us, ttft_us, queue_wait_us, inflight_at_admission,
            key_id, team, tags, upstream_request_id,
            price_status, official_price_id, holysheep_price_id, cost_paid_pusd, cost_official_pusd, cost_holysheep_pusd,
            cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens, audio_completion_tokens, service_tier,
            missing_costs, upstream_model
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                  ?, ?, ?, ?, ?, ?, ?)
        """

    /// The three costs of a call and the price rows they came from (the PostgreSQL store costs with this too).
    package struct Costing: Sendable {
        package var status: String
        package var officialPriceID: Int64?
        package var holysheepPriceID: Int64?
        package var paid: Int64?
        package var official: Int64?
        package var holysheep: Int64?
        /// Which costs are missing and why ("holysheep: no holysheep price for x"), nil when none is.
        package var missing: String?
    }

    /// Costs a call on each list independently: a list without a row for the call leaves only its own cost (and the
    /// paid cost, when that list is what was paid) NULL, and `missing` says so. `priced` only when all three are set.
    package static func costing(_ event: UsageEvent, book: PriceBook) throws -> Costing {
        guard let usage = event.usage else { return Costing(status: "no_usage") }
        guard let model = event.model else {
            return Costing(status: "unpriced", missing: "paid, official, holysheep: the call names no model")
        }
        func cost(_ kind: ProviderKind) throws -> (id: Int64, pico: Int64)? {
            guard let row = book.row(model: model, kind: kind, atMicros: event.startedAtMicros, usage: usage) else {
                return nil
            }
            guard let pico = Int64(exactly: try CostCalculator.cost(for: usage, price: row.price).picoUSD) else {
                throw CostError.overflow
            }
            return (row.id, pico)
        }
        let official = try cost(.official)
        let relay = try cost(.holysheep)
        let paid = event.providerKind == .official ? official : relay
        var missing: [String] = []
        if paid == nil {
            missing.append("paid: no \((event.providerKind ?? .holysheep).rawValue) price for \(model)")
        }
        if official == nil { missing.append("official: no official price for \(model)") }
        if relay == nil { missing.append("holysheep: no holysheep price for \(model)") }
        return Costing(
            status: missing.isEmpty ? "priced" : "unpriced", officialPriceID: official?.id,
            holysheepPriceID: relay?.id, paid: paid?.pico, official: official?.pico, holysheep: relay?.pico,
            missing: missing.isEmpty ? nil : missing.joined(separator: "; "))
    }

    /// Inserts calls and adds them to `call_rollup`, in the caller's transaction: the one insert path of the ledger
    /// (`LedgerDatabase.insert` and `LedgerWriter`'s batches both come here), so the rollup is always exactly in step
    /// with `call` (migrations/0003). The rows are summed per rollup key in memory and each distinct key is upserted
    /// once: a batch of 40 calls of one model, team and day costs one rollup upsert instead of 40 trigger runs
    /// (bench/reports.md).
    /// Returns each row's paid cost in pico-USD (nil when unpriced or without usage), in order.
    /// `statements` are the two prepared statements to run (the writer holds its own; others pass `.cached(db)`).
    @discardableResult
    static func insert<Events: Sequence<UsageEvent>>(
        _ events: Events, book: PriceBook, db: Database, statements: InsertStatements
    ) throws -> [Int64?] {
        var rollup = RollupBatch()
        var paid: [Int64?] = []
        paid.reserveCapacity(events.underestimatedCount)
        for event in events {
            paid.append(try insertCall(event, book: book, db: db, statement: statements.call, rollup: &rollup))
        }
        try rollup.upsert(db: db, statement: statements.rollup)
        return paid
    }

    /// The `call` insert and the `call_rollup` upsert, prepared on one connection.
    struct InsertStatements {
        var call: SQLiteStatement
        var rollup: SQLiteStatement

        /// GRDB's cached statements of `db`: found by hashing each SQL text (about 2,000 characters together) on
        /// every use, which the writer avoids by holding its own (``LedgerWriter``).
        static func cached(_ db: Database) throws -> InsertStatements {
            InsertStatements(
                call: try db.cachedStatement(sql: insertSQL).sqliteStatement,
                rollup: try db.cachedStatement(sql: RollupBatch.upsertSQL).sqliteStatement)
        }
    }

    /// Inserts one `call` row and adds it to `rollup`.
    /// Binds with the SQLite C API on a prepared statement: the writer's hot path, where boxing 41 values into
    /// `StatementArguments` cost more than the insert itself (bench/README.md).
    private static func insertCall(
        _ event: UsageEvent, book: PriceBook, db: Database, statement: SQLiteStatement, rollup: inout RollupBatch
    ) throws -> Int64? {
        let c = try costing(event, book: book)
        let u = event.usage
        let month = Int64(BillingMonth(containing: event.startedAtMicros).code)
        var bind = StatementBinder(statement)
        bind.int(event.id)
        bind.int(event.startedAtMicros)
        bind.int(event.finishedAtMicros)
        bind.int(month)
        bind.text(event.endpoint)
        bind.text(event.requestedModel)
        bind.text(event.model)
        bind.text(event.provider)
        bind.text(event.providerKind?.rawValue)
        bind.int(event.stream ? 1 : 0)
        bind.text(event.status.rawValue)
        bind.int(event.httpStatus.map(Int64.init))
        bind.text(event.errorType)
        bind.int(Int64(event.attempts))
        bind.int(event.fallbackUsed ? 1 : 0)
        bind.int(u?.promptTokens)
        bind.int(u?.cachedPromptTokens)
        bind.int(u?.completionTokens)
        bind.int(u?.reasoningTokens)
        bind.text(u == nil ? "missing" : "upstream")
        bind.int(event.latencyMicros)
        bind.int(event.upstreamLatencyMicros)
        bind.int(event.timeToFirstTokenMicros)
        bind.int(event.queueWaitMicros)
        bind.int(event.inflightAtAdmission.map(Int64.init))
        bind.int(event.keyID)
        bind.text(event.team)
        bind.text(event.tags)
        bind.text(event.upstreamRequestID)
        bind.text(c.status)
        bind.int(c.officialPriceID)
        bind.int(c.holysheepPriceID)
        bind.int(c.paid)
        bind.int(c.official)
        bind.int(c.holysheep)
        bind.int(u?.cacheWrite5mTokens)
        bind.int(u?.cacheWrite1hTokens)
        bind.int(u?.audioPromptTokens)
        bind.int(u?.audioCompletionTokens)
        bind.text(u?.serviceTier)
        bind.text(c.missing)
        bind.text(event.upstreamModel)
        try bind.execute(db)
        try rollup.add(event, month: month, costing: c)
        return c.paid
    }
}
