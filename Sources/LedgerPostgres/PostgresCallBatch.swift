import LedgerCore
import LedgerStore
import NIOCore
import PostgresNIO

/// One writer batch as ONE prepared statement of one shape whatever the batch size: the calls are bound as ONE
/// array of `call_batch_row_v1` and their rollup sums as one array of `call_rollup_batch_row_v1`
/// (migrations/postgres/0010), read back with `unnest` of that one array. (An array per column, `unnest($1, …, $42)`,
/// made the server materialise 42 function results per batch: as much CPU as the inserts themselves.) The writer's
/// connections force the generic plan, so the server parses and plans it once per connection. Both statements
/// insert the calls and their sums per rollup key as pending `call_rollup` rows (migrations/postgres/0008): `call`
/// and the rollup change in the same commit, and no existing row is updated, so concurrent batches never wait for
/// each other.
///
/// `PostgresCallBatch` (every first attempt) is a plain INSERT, so either every call of the batch is inserted or
/// none is, and the rollup rows are summed here (the server only stores them).
/// `PostgresCallBatch.Retry` (a retry after an attempt that may have committed, a duplicate id, a sum past `bigint`)
/// inserts with `ON CONFLICT (id) DO NOTHING` and sums only the rows it really inserted (RETURNING), so a retried
/// batch whose first commit landed counts each call once.
struct PostgresCallBatch: PostgresPreparedStatement {
    typealias Row = ()

    static let name = "holysheep_ledger_call_batch_v3"

    /// The two row types' ids in this database (`open` looks them up): the binary array format names its element
    /// type.
    struct RowTypes: Sendable {
        var call: PostgresDataType
        var rollup: PostgresDataType

        static let sql = "SELECT 'call_batch_row_v1'::regtype::oid::int8, 'call_rollup_batch_row_v1'::regtype::oid::int8"
    }

    struct Retry: PostgresPreparedStatement {
        typealias Row = ()
        static let name = "holysheep_ledger_call_batch_retry_v2"
        static let sql = PostgresCallBatch.retrySQL
        let calls: RowArray

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(calls)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    /// The columns of `call` in the order of `call_batch_row_v1`'s fields, each encoded as int8 or text (integer
    /// columns are narrowed by the insert's assignment cast).
    static let columns: [(name: String, type: PostgresDataType)] = [
        ("id", .int8Array), ("started_at_us", .int8Array), ("finished_at_us", .int8Array), ("month", .int8Array),
        ("endpoint", .textArray), ("requested_model", .textArray), ("model", .textArray), ("provider", .textArray),
        ("provider_kind", .textArray), ("stream", .int8Array), ("status", .textArray), ("http_status", .int8Array),
        ("error_type", .textArray), ("attempts", .int8Array), ("fallback_used", .int8Array),
        ("prompt_tokens", .int8Array), ("cached_prompt_tokens", .int8Array), ("completion_tokens", .int8Array),
        ("reasoning_tokens", .int8Array), ("usage_source", .textArray), ("latency_us", .int8Array),
        ("upstream_latency_us", .int8Array), ("ttft_us", .int8Array), ("queue_wait_us", .int8Array),
        ("inflight_at_admission", .int8Array), ("key_id", .int8Array), ("team", .textArray), ("tags", .textArray),
        ("upstream_request_id", .textArray), ("price_status", .textArray), ("official_price_id", .int8Array),
        ("holysheep_price_id", .int8Array), ("cost_paid_pusd", .int8Array), ("cost_official_pusd", .int8Array),
        ("cost_holysheep_pusd", .int8Array), ("cache_write_5m_tokens", .int8Array),
        ("cache_write_1h_tokens", .int8Array), ("audio_prompt_tokens", .int8Array),
        ("audio_completion_tokens", .int8Array), ("service_tier", .textArray), ("missing_costs", .textArray),
        ("upstream_model", .textArray),
    ]

    /// The pending rollup rows' columns, in the order of `call_rollup_batch_row_v1`'s fields.
    static let rollupColumns: [(name: String, type: PostgresDataType)] = [
        ("day", .int8Array), ("month", .int8Array), ("model", .textArray), ("provider", .textArray),
        ("provider_kind", .textArray), ("team", .textArray), ("key_id", .int8Array), ("tags", .textArray),
        ("price_status", .textArray), ("official_price_id", .int8Array), ("holysheep_price_id", .int8Array),
        ("calls", .int8Array), ("failed_calls", .int8Array), ("fallback_calls", .int8Array),
        ("prompt_tokens", .int8Array), ("cached_prompt_tokens", .int8Array), ("completion_tokens", .int8Array),
        ("latency_us", .int8Array), ("cache_write_5m_tokens", .int8Array), ("cache_write_1h_tokens", .int8Array),
        ("audio_prompt_tokens", .int8Array), ("audio_completion_tokens", .int8Array),
    ]

    static let sql: String = {
        let names = columns.map(\.name).joined(separator: ", ")
        let rollupNames = rollupColumns.map(\.name).joined(separator: ", ")
        return """
            WITH inserted AS (
                INSERT INTO call (\(names))
                SELECT * FROM unnest($1::call_batch_row_v1[]))
            INSERT INTO call_rollup (\(rollupNames), pending)
            SELECT *, 1 FROM unnest($2::call_rollup_batch_row_v1[])
            """
    }()

    static let retrySQL: String = {
        let names = columns.map(\.name).joined(separator: ", ")
        return """
            WITH inserted AS (
                INSERT INTO call (\(names))
                SELECT * FROM unnest($1::call_batch_row_v1[])
                ON CONFLICT (id) DO NOTHING
                RETURNING started_at_us, month, model, provider, provider_kind, team, key_id, tags, price_status,
                          official_price_id, holysheep_price_id, status, fallback_used, prompt_tokens,
                          cached_prompt_tokens, completion_tokens, latency_us, cache_write_5m_tokens,
                          cache_write_1h_tokens, audio_prompt_tokens, audio_completion_tokens)
            INSERT INTO call_rollup (day, month, model, provider, provider_kind, team, key_id, tags, price_status,
                                     official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls,
                                     prompt_tokens, cached_prompt_tokens, completion_tokens, latency_us,
                                     cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
                                     audio_completion_tokens, pending)
            SELECT floor(started_at_us / 86400000000.0)::bigint, month, coalesce(model, ''), coalesce(provider, ''),
                   coalesce(provider_kind, ''), coalesce(team, ''), coalesce(key_id, 0), coalesce(tags, ''),
                   price_status, coalesce(official_price_id, 0), coalesce(holysheep_price_id, 0),
                   count(*), count(*) FILTER (WHERE status <> 'ok'), sum(fallback_used),
                   coalesce(sum(prompt_tokens), 0), coalesce(sum(cached_prompt_tokens), 0),
                   coalesce(sum(completion_tokens), 0), sum(latency_us),
                   coalesce(sum(cache_write_5m_tokens), 0), coalesce(sum(cache_write_1h_tokens), 0),
                   coalesce(sum(audio_prompt_tokens), 0), coalesce(sum(audio_completion_tokens), 0), 1
            FROM inserted
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
            """
    }()

    /// The calls, one `call_batch_row_v1` each.
    let calls: RowArray
    /// Their sums per rollup key, one `call_rollup_batch_row_v1` each.
    let rollup: RowArray
    /// The calls alone, for the retry statement.
    var retry: Retry { Retry(calls: calls) }

    /// The statement for `rows`, or nil when a sum would not fit `bigint` (the retry statement sums in SQL and
    /// refuses the batch the same way the old statement did).
    init?<Rows: Sequence<(UsageEvent, CallRecord.Costing)>>(_ rows: Rows, count: Int, types: RowTypes) {
        // The SQLite writer's per-key sums (RollupBatch): the same keys and sums as 0003's GROUP BY.
        var sums = RollupBatch()
        do {
            for (event, c) in rows {
                try sums.add(event, month: Int64(BillingMonth(containing: event.startedAtMicros).code), costing: c)
            }
        } catch {
            return nil
        }
        calls = Self.callRows(rows, count: count, type: types.call)
        var r = RowArray(type: types.rollup, fields: Self.rollupColumns.count, capacity: sums.keys.count)
        for (key, sums) in zip(sums.keys, sums.sums) {
            r.beginRow()
            r.append(key.day)
            r.append(key.month)
            r.append(key.model)
            r.append(key.provider)
            r.append(key.providerKind)
            r.append(key.team)
            r.append(key.keyID)
            r.append(key.tags)
            r.append(key.priceStatus)
            r.append(key.officialPriceID)
            r.append(key.holysheepPriceID)
            r.append(sums.calls)
            r.append(sums.failedCalls)
            r.append(sums.fallbackCalls)
            r.append(sums.promptTokens)
            r.append(sums.cachedPromptTokens)
            r.append(sums.completionTokens)
            r.append(sums.latencyMicros)
            r.append(sums.cacheWrite5mTokens)
            r.append(sums.cacheWrite1hTokens)
            r.append(sums.audioPromptTokens)
            r.append(sums.audioCompletionTokens)
            r.endRow()
        }
        rollup = r
    }

    /// The calls as `call_batch_row_v1` rows, fields in `columns` order.
    static func callRows<Rows: Sequence<(UsageEvent, CallRecord.Costing)>>(
        _ rows: Rows, count: Int, type: PostgresDataType
    ) -> RowArray {
        var a = RowArray(type: type, fields: columns.count, capacity: count)
        for (event, c) in rows {
            let u = event.usage
            a.beginRow()
            a.append(event.id)
            a.append(event.startedAtMicros)
            a.append(event.finishedAtMicros)
            a.append(Int64(BillingMonth(containing: event.startedAtMicros).code))
            a.append(event.endpoint)
            a.append(event.requestedModel)
            a.append(event.model)
            a.append(event.provider)
            a.append(event.providerKind?.rawValue)
            a.append(Int64(event.stream ? 1 : 0))
            a.append(event.status.rawValue)
            a.append(event.httpStatus.map(Int64.init))
            a.append(event.errorType)
            a.append(Int64(event.attempts))
            a.append(Int64(event.fallbackUsed ? 1 : 0))
            a.append(u?.promptTokens)
            a.append(u?.cachedPromptTokens)
            a.append(u?.completionTokens)
            a.append(u?.reasoningTokens)
            a.append(u == nil ? "missing" : "upstream")
            a.append(event.latencyMicros)
            a.append(event.upstreamLatencyMicros)
            a.append(event.timeToFirstTokenMicros)
            a.append(event.queueWaitMicros)
            a.append(event.inflightAtAdmission.map(Int64.init))
            a.append(event.keyID)
            a.append(event.team)
            a.append(event.tags)
            a.append(event.upstreamRequestID)
            a.append(c.status)
            a.append(c.officialPriceID)
            a.append(c.holysheepPriceID)
            a.append(c.paid)
            a.append(c.official)
            a.append(c.holysheep)
            a.append(u?.cacheWrite5mTokens)
            a.append(u?.cacheWrite1hTokens)
            a.append(u?.audioPromptTokens)
            a.append(u?.audioCompletionTokens)
            a.append(u?.serviceTier)
            a.append(c.missing)
            a.append(event.upstreamModel)
            a.endRow()
        }
        return a
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(calls)
        bindings.append(rollup)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// A one-dimensional array of a composite type in PostgreSQL's binary format, written row by row and field by field
/// into one buffer (no boxing of values on the way). Each field is int8 or text (the row types of
/// migrations/postgres/0010 have no others), NULL allowed; `record_recv` checks each field's type and the field
/// count against the row type, so a mismatch is refused, never stored.
struct RowArray: PostgresDynamicTypeEncodable, Sendable {
    /// The row type (element type) id.
    let type: PostgresDataType
    let fields: Int32
    private(set) var count: Int32 = 0
    private var elements: ByteBuffer
    private var rowStart = 0
    private var written: Int32 = 0

    /// The parameter's type is the statement's (`$1::type[]`); the element type travels in the data.
    var psqlType: PostgresDataType { .null }
    var psqlFormat: PostgresFormat { .binary }

    init(type: PostgresDataType, fields: Int, capacity: Int) {
        self.type = type
        self.fields = Int32(fields)
        elements = ByteBufferAllocator().buffer(capacity: capacity * (8 + fields * 16))
    }

    /// Starts a row: its length (set by `endRow`) and field count.
    mutating func beginRow() {
        count += 1
        written = 0
        rowStart = elements.writerIndex
        elements.writeInteger(Int32(0))
        elements.writeInteger(fields)
    }

    mutating func endRow() {
        precondition(written == fields, "a batch row has \(written) fields, its type \(fields)")
        elements.setInteger(Int32(elements.writerIndex - rowStart - 4), at: rowStart)
    }

    mutating func append(_ value: Int64?) {
        written += 1
        elements.writeInteger(PostgresDataType.int8.rawValue)
        guard let value else {
            elements.writeInteger(Int32(-1))
            return
        }
        elements.writeInteger(Int32(8))
        elements.writeInteger(value)
    }

    mutating func append(_ value: String?) {
        written += 1
        elements.writeInteger(PostgresDataType.text.rawValue)
        guard let value else {
            elements.writeInteger(Int32(-1))
            return
        }
        let lengthIndex = elements.writerIndex
        elements.writeInteger(Int32(0))
        let bytes = elements.writeString(value)
        elements.setInteger(Int32(bytes), at: lengthIndex)
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        // ndim, flags (the server finds NULLs by their -1 length), element type, then the one dimension.
        buffer.writeInteger(Int32(count == 0 ? 0 : 1))
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(type.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(count)
        buffer.writeInteger(Int32(1))
        var elements = elements
        buffer.writeBuffer(&elements)
    }
}
