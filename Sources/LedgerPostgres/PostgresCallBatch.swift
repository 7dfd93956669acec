import LedgerCore
import LedgerStore
import NIOCore
import PostgresNIO

/// One writer batch as ONE prepared statement of one shape whatever the batch size: each of `call`'s 42 columns is
/// bound as one array (`unnest($1::int8[], $2::int8[], …)`), so the server parses and plans it once per connection
/// (the writer's connections force the generic plan) instead of once per batch, with 42 parameters instead of
/// 42 per row. Both statements insert the calls and their sums per rollup key as pending `call_rollup` rows
/// (migrations/postgres/0008): `call` and the rollup change in the same commit, and no existing row is updated, so
/// concurrent batches never wait for each other.
///
/// `PostgresCallBatch` (every first attempt) is a plain INSERT, so either every call of the batch is inserted or
/// none is, and the rollup rows are summed here, bound as 22 more arrays (the server only stores them).
/// `PostgresCallBatch.Retry` (a retry after an attempt that may have committed, a duplicate id, a sum past `bigint`)
/// inserts with `ON CONFLICT (id) DO NOTHING` and sums only the rows it really inserted (RETURNING), so a retried
/// batch whose first commit landed counts each call once.
struct PostgresCallBatch: PostgresPreparedStatement {
    typealias Row = ()

    static let name = "holysheep_ledger_call_batch_v2"

    struct Retry: PostgresPreparedStatement {
        typealias Row = ()
        static let name = "holysheep_ledger_call_batch_retry_v1"
        static var bindingDataTypes: [PostgresDataType] { PostgresCallBatch.columns.map(\.type) }
        static let sql = PostgresCallBatch.retrySQL
        let arrays: [ColumnArray]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: arrays.count)
            for array in arrays { bindings.append(array) }
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    /// The columns of `call` in bind order, with the array type each is bound as (integer columns are bound as
    /// int8[] and narrowed by the insert's assignment cast).
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

    /// The pending rollup rows' columns, in bind order after `columns`.
    static let rollupColumns: [(name: String, type: PostgresDataType)] = [
        ("day", .int8Array), ("month", .int8Array), ("model", .textArray), ("provider", .textArray),
        ("provider_kind", .textArray), ("team", .textArray), ("key_id", .int8Array), ("tags", .textArray),
        ("price_status", .textArray), ("official_price_id", .int8Array), ("holysheep_price_id", .int8Array),
        ("calls", .int8Array), ("failed_calls", .int8Array), ("fallback_calls", .int8Array),
        ("prompt_tokens", .int8Array), ("cached_prompt_tokens", .int8Array), ("completion_tokens", .int8Array),
        ("latency_us", .int8Array), ("cache_write_5m_tokens", .int8Array), ("cache_write_1h_tokens", .int8Array),
        ("audio_prompt_tokens", .int8Array), ("audio_completion_tokens", .int8Array),
    ]

    static var bindingDataTypes: [PostgresDataType] { (columns + rollupColumns).map(\.type) }

    static func unnest(_ columns: [(name: String, type: PostgresDataType)], from first: Int) -> String {
        columns.enumerated().map { i, column in
            "$\(first + i)::\(column.type == .int8Array ? "int8" : "text")[]"
        }.joined(separator: ", ")
    }

    static let sql: String = {
        let names = columns.map(\.name).joined(separator: ", ")
        let rollupNames = rollupColumns.map(\.name).joined(separator: ", ")
        return """
            WITH inserted AS (
                INSERT INTO call (\(names))
                SELECT * FROM unnest(\(unnest(columns, from: 1))))
            INSERT INTO call_rollup (\(rollupNames), pending)
            SELECT *, 1 FROM unnest(\(unnest(rollupColumns, from: columns.count + 1)))
            """
    }()

    static let retrySQL: String = {
        let names = columns.map(\.name).joined(separator: ", ")
        let arrays = columns.enumerated().map { i, column in
            "$\(i + 1)::\(column.type == .int8Array ? "int8" : "text")[]"
        }.joined(separator: ", ")
        return """
            WITH inserted AS (
                INSERT INTO call (\(names))
                SELECT * FROM unnest(\(arrays))
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

    /// The encoded arrays, in `columns` order, then `rollupColumns`.
    let arrays: [ColumnArray]
    /// The calls' arrays alone, for the retry statement.
    var retry: Retry { Retry(arrays: Array(arrays.prefix(Self.columns.count))) }

    /// The statement for `rows`, or nil when a sum would not fit `bigint` (the retry statement sums in SQL and
    /// refuses the batch the same way the old statement did).
    init?<Rows: Sequence<(UsageEvent, CallRecord.Costing)>>(_ rows: Rows, count: Int) {
        let calls = Self.callArrays(rows, count: count)
        // The SQLite writer's per-key sums (RollupBatch): the same keys and sums as 0003's GROUP BY.
        var rollup = RollupBatch()
        do {
            for (event, c) in rows {
                try rollup.add(event, month: Int64(BillingMonth(containing: event.startedAtMicros).code), costing: c)
            }
        } catch {
            return nil
        }
        var r = Self.rollupColumns.map { ColumnArray(type: $0.type, capacity: rollup.keys.count) }
        for (key, sums) in zip(rollup.keys, rollup.sums) {
            r[0].append(key.day)
            r[1].append(key.month)
            r[2].append(key.model)
            r[3].append(key.provider)
            r[4].append(key.providerKind)
            r[5].append(key.team)
            r[6].append(key.keyID)
            r[7].append(key.tags)
            r[8].append(key.priceStatus)
            r[9].append(key.officialPriceID)
            r[10].append(key.holysheepPriceID)
            r[11].append(sums.calls)
            r[12].append(sums.failedCalls)
            r[13].append(sums.fallbackCalls)
            r[14].append(sums.promptTokens)
            r[15].append(sums.cachedPromptTokens)
            r[16].append(sums.completionTokens)
            r[17].append(sums.latencyMicros)
            r[18].append(sums.cacheWrite5mTokens)
            r[19].append(sums.cacheWrite1hTokens)
            r[20].append(sums.audioPromptTokens)
            r[21].append(sums.audioCompletionTokens)
        }
        arrays = calls + r
    }

    /// The calls' 42 arrays.
    static func callArrays<Rows: Sequence<(UsageEvent, CallRecord.Costing)>>(_ rows: Rows, count: Int)
        -> [ColumnArray]
    {
        var a = Self.columns.map { ColumnArray(type: $0.type, capacity: count) }
        for (event, c) in rows {
            let u = event.usage
            a[0].append(event.id)
            a[1].append(event.startedAtMicros)
            a[2].append(event.finishedAtMicros)
            a[3].append(Int64(BillingMonth(containing: event.startedAtMicros).code))
            a[4].append(event.endpoint)
            a[5].append(event.requestedModel)
            a[6].append(event.model)
            a[7].append(event.provider)
            a[8].append(event.providerKind?.rawValue)
            a[9].append(Int64(event.stream ? 1 : 0))
            a[10].append(event.status.rawValue)
            a[11].append(event.httpStatus.map(Int64.init))
            a[12].append(event.errorType)
            a[13].append(Int64(event.attempts))
            a[14].append(Int64(event.fallbackUsed ? 1 : 0))
            a[15].append(u?.promptTokens)
            a[16].append(u?.cachedPromptTokens)
            a[17].append(u?.completionTokens)
            a[18].append(u?.reasoningTokens)
            a[19].append(u == nil ? "missing" : "upstream")
            a[20].append(event.latencyMicros)
            a[21].append(event.upstreamLatencyMicros)
            a[22].append(event.timeToFirstTokenMicros)
            a[23].append(event.queueWaitMicros)
            a[24].append(event.inflightAtAdmission.map(Int64.init))
            a[25].append(event.keyID)
            a[26].append(event.team)
            a[27].append(event.tags)
            a[28].append(event.upstreamRequestID)
            a[29].append(c.status)
            a[30].append(c.officialPriceID)
            a[31].append(c.holysheepPriceID)
            a[32].append(c.paid)
            a[33].append(c.official)
            a[34].append(c.holysheep)
            a[35].append(u?.cacheWrite5mTokens)
            a[36].append(u?.cacheWrite1hTokens)
            a[37].append(u?.audioPromptTokens)
            a[38].append(u?.audioCompletionTokens)
            a[39].append(u?.serviceTier)
            a[40].append(c.missing)
            a[41].append(event.upstreamModel)
        }
        return a
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: arrays.count)
        for array in arrays { bindings.append(array) }
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// A one-dimensional int8[] or text[] in PostgreSQL's binary array format, NULL elements allowed, written element by
/// element into one buffer (no boxing of values on the way).
struct ColumnArray: PostgresDynamicTypeEncodable, Sendable {
    let type: PostgresDataType
    private(set) var count: Int32 = 0
    private var elements: ByteBuffer

    var psqlType: PostgresDataType { type }
    var psqlFormat: PostgresFormat { .binary }

    init(type: PostgresDataType, capacity: Int) {
        self.type = type
        elements = ByteBufferAllocator().buffer(capacity: capacity * (type == .int8Array ? 12 : 24))
    }

    mutating func append(_ value: Int64?) {
        count += 1
        guard let value else {
            elements.writeInteger(Int32(-1))
            return
        }
        elements.writeInteger(Int32(8))
        elements.writeInteger(value)
    }

    mutating func append(_ value: String?) {
        count += 1
        guard let value else {
            elements.writeInteger(Int32(-1))
            return
        }
        let lengthIndex = elements.writerIndex
        elements.writeInteger(Int32(0))
        let written = elements.writeString(value)
        elements.setInteger(Int32(written), at: lengthIndex)
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        // ndim, flags (the server finds NULLs by their -1 length), element type, then the one dimension.
        buffer.writeInteger(Int32(count == 0 ? 0 : 1))
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(type == .int8Array ? PostgresDataType.int8.rawValue : PostgresDataType.text.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(count)
        buffer.writeInteger(Int32(1))
        var elements = elements
        buffer.writeBuffer(&elements)
    }
}
