import GRDB
import GRDBSQLite
package import LedgerCore

/// The `call_rollup` rows of one transaction's inserts (migrations/0003, token sums of 0004), summed in memory and upserted once per key.
///
/// The key and sums are exactly what 0003's backfill `GROUP BY` computes from the `call` rows: NULLs become '' or 0,
/// `day` is the floor of `started_at_us` in UTC days, `failed_calls` counts `status <> 'ok'`, and tokens of calls
/// without usage add 0. `RollupExactnessTests` checks the table against that query after concurrent writer batches.
/// The PostgreSQL writer sums its batches' pending rollup rows with the same type (LedgerPostgres).
package struct RollupBatch {
    package struct Key: Hashable {
        package var day: Int64
        package var month: Int64
        package var model: String
        package var provider: String
        package var providerKind: String
        package var team: String
        package var keyID: Int64
        package var tags: String
        package var priceStatus: String
        package var officialPriceID: Int64
        package var holysheepPriceID: Int64
    }

    package struct Sums {
        package var calls: Int64 = 0
        package var failedCalls: Int64 = 0
        package var fallbackCalls: Int64 = 0
        package var promptTokens: Int64 = 0
        package var cachedPromptTokens: Int64 = 0
        package var completionTokens: Int64 = 0
        package var latencyMicros: Int64 = 0
        package var cacheWrite5mTokens: Int64 = 0
        package var cacheWrite1hTokens: Int64 = 0
        package var audioPromptTokens: Int64 = 0
        package var audioCompletionTokens: Int64 = 0
    }

    /// The batch's keys in first-seen order. A batch usually holds a handful of keys (one model, team and day
    /// repeat), so a linear search from the last key used beats hashing six strings per row; past `indexFrom` keys
    /// a dictionary takes over the lookups.
    package private(set) var keys: [Key] = []
    package private(set) var sums: [Sums] = []
    private var index: [Key: Int] = [:]
    private var last = 0
    private static let indexFrom = 16

    /// One statement per distinct key of the batch. (UPDATE first, INSERT when nothing changed, measured the same in
    /// `ledger-bench writer --varied`; the single UPSERT is simpler.)
    static let upsertSQL = """
        INSERT INTO call_rollup (
            day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
            holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, cached_prompt_tokens,
            completion_tokens, latency_us, cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
            audio_completion_tokens
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT DO UPDATE SET
            calls = calls + excluded.calls,
            failed_calls = failed_calls + excluded.failed_calls,
            fallback_calls = fallback_calls + excluded.fallback_calls,
            prompt_tokens = prompt_tokens + excluded.prompt_tokens,
            cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens,
            completion_tokens = completion_tokens + excluded.completion_tokens,
            latency_us = latency_us + excluded.latency_us,
            cache_write_5m_tokens = cache_write_5m_tokens + excluded.cache_write_5m_tokens,
            cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
            audio_prompt_tokens = audio_prompt_tokens + excluded.audio_prompt_tokens,
            audio_completion_tokens = audio_completion_tokens + excluded.audio_completion_tokens
        """

    /// Throws `CostError.overflow` rather than let a sum wrap (SQLite would turn it into a REAL).
    package init() {}

    package mutating func add(_ event: UsageEvent, month: Int64, costing: CallRecord.Costing) throws {
        let key = Key(
            day: UTCDate.floorDiv(event.startedAtMicros, UTCDate.microsPerDay), month: month,
            model: event.model ?? "", provider: event.provider ?? "", providerKind: event.providerKind?.rawValue ?? "",
            team: event.team ?? "", keyID: event.keyID ?? 0, tags: event.tags ?? "", priceStatus: costing.status,
            officialPriceID: costing.officialPriceID ?? 0, holysheepPriceID: costing.holysheepPriceID ?? 0)
        try sums[position(of: key)].add(event)
    }

    private mutating func position(of key: Key) -> Int {
        if last < keys.count && keys[last] == key { return last }
        if keys.count <= Self.indexFrom {
            if let i = keys.firstIndex(of: key) {
                last = i
                return i
            }
        } else if let i = index[key] {
            last = i
            return i
        }
        keys.append(key)
        sums.append(Sums())
        last = keys.count - 1
        if keys.count > Self.indexFrom {
            if index.isEmpty { for (i, k) in keys.enumerated() { index[k] = i } } else { index[key] = last }
        }
        return last
    }

    /// One upsert per distinct key: `statement` (prepared from ``upsertSQL``) bound through the C API.
    func upsert(db: Database, statement: SQLiteStatement) throws {
        guard !keys.isEmpty else { return }
        for (key, sums) in zip(keys, sums) { try Self.step(statement, key: key, sums: sums, db: db) }
    }

    private static func step(_ statement: SQLiteStatement, key: Key, sums: Sums, db: Database) throws {
        var bind = StatementBinder(statement)
        bind.int(key.day)
        bind.int(key.month)
        bind.text(key.model)
        bind.text(key.provider)
        bind.text(key.providerKind)
        bind.text(key.team)
        bind.int(key.keyID)
        bind.text(key.tags)
        bind.text(key.priceStatus)
        bind.int(key.officialPriceID)
        bind.int(key.holysheepPriceID)
        bind.int(sums.calls)
        bind.int(sums.failedCalls)
        bind.int(sums.fallbackCalls)
        bind.int(sums.promptTokens)
        bind.int(sums.cachedPromptTokens)
        bind.int(sums.completionTokens)
        bind.int(sums.latencyMicros)
        bind.int(sums.cacheWrite5mTokens)
        bind.int(sums.cacheWrite1hTokens)
        bind.int(sums.audioPromptTokens)
        bind.int(sums.audioCompletionTokens)
        try bind.execute(db)
    }
}

extension RollupBatch.Sums {
    mutating func add(_ event: UsageEvent) throws {
        func plus(_ sum: inout Int64, _ value: Int64) throws {
            let (result, overflow) = sum.addingReportingOverflow(value)
            guard !overflow else { throw CostError.overflow }
            sum = result
        }
        calls += 1
        if event.status != .ok { failedCalls += 1 }
        if event.fallbackUsed { fallbackCalls += 1 }
        if let usage = event.usage {
            try plus(&promptTokens, usage.promptTokens)
            try plus(&cachedPromptTokens, usage.cachedPromptTokens)
            try plus(&completionTokens, usage.completionTokens)
            try plus(&cacheWrite5mTokens, usage.cacheWrite5mTokens)
            try plus(&cacheWrite1hTokens, usage.cacheWrite1hTokens)
            try plus(&audioPromptTokens, usage.audioPromptTokens)
            try plus(&audioCompletionTokens, usage.audioCompletionTokens)
        }
        try plus(&latencyMicros, event.latencyMicros)
    }
}
