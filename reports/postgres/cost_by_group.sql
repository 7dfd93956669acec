-- cost_by_group (PostgreSQL): the monthly (or any day-range) cost report, one result row per group AND price rows used.
-- PostgreSQL dialect of reports/cost_by_group.sql: the same result columns, rows and order; read that file first.
-- Differences: sums are cast back to bigint (token counts and call counts; money is never summed in SQL, the Swift
-- side multiplies summed tokens by each price in Int128), dates come from to_char, tags from strpos/split_part,
-- text is ordered with COLLATE "C" (bytewise, as SQLite), and the joined price rows are grouped by their key.
--
-- Parameters (bound by LedgerReports.MonthlyCostReport):
--   :from_day, :to_day  half-open range of UTC days since 1970-01-01: from_day <= day < to_day
--   :by                 'model' | 'provider' | 'team' | 'key' | 'day' | 'tag'
--   :tag                the tag name when :by = 'tag' (tags are stored as "name=value,name=value")
--
-- Money is NOT summed here. Each result row carries the SUMMED tokens of its calls and the unit prices of the
-- price rows those calls were costed with (micro-USD per million tokens); the Swift side multiplies them in Int128:
--   official  = each token kind x its official rate (CostCalculator: uncached text input, cache reads, 5-minute and
--               1-hour cache writes, audio input, text output, audio output)
--   holysheep = the same with the HolySheep row
--   paid      = official when provider_kind = 'official' (the fallback served), else holysheep
-- which is exactly the sum of each call's stored cost (tokens x price is linear), in pico-USD, never rounded here.
-- Calls without usage (price_status 'no_usage') and without a price row on some list ('unpriced': the missing
-- list's price id is 0, so its price columns are NULL) come back in their own rows, so the report counts them in
-- their own columns (per missing cost) instead of pricing them at zero.
SELECT
    CASE CAST(:by AS text)
        WHEN 'model' THEN r.model
        WHEN 'provider' THEN r.provider
        WHEN 'team' THEN r.team
        WHEN 'key' THEN CASE r.key_id WHEN 0 THEN '' ELSE coalesce(k.name, 'key') || ' #' || r.key_id::text END
        WHEN 'day' THEN to_char(date '1970-01-01' + r.day::integer, 'YYYY-MM-DD')
        WHEN 'tag' THEN
            -- the value of ",NAME=" up to the next comma in ",tags,"; '' when the call has no such tag
            CASE WHEN strpos(',' || r.tags || ',', ',' || :tag || '=') = 0 THEN ''
            ELSE split_part(substr(',' || r.tags || ',', strpos(',' || r.tags || ',', ',' || :tag || '=')
                                   + length(CAST(:tag AS text)) + 2), ',', 1)
            END
    END COLLATE "C" AS group_key,
    r.price_status,
    r.provider_kind,
    sum(r.calls)::bigint AS calls,
    sum(r.failed_calls)::bigint AS failed_calls,
    sum(r.fallback_calls)::bigint AS fallback_calls,
    sum(r.prompt_tokens)::bigint AS prompt_tokens,
    sum(r.cached_prompt_tokens)::bigint AS cached_prompt_tokens,
    sum(r.completion_tokens)::bigint AS completion_tokens,
    sum(r.latency_us)::bigint AS latency_sum_us,
    po.input_musd_per_mtok AS official_input,
    po.cached_input_musd_per_mtok AS official_cached_input,
    po.output_musd_per_mtok AS official_output,
    ph.input_musd_per_mtok AS holysheep_input,
    ph.cached_input_musd_per_mtok AS holysheep_cached_input,
    ph.output_musd_per_mtok AS holysheep_output,
    -- migrations/0004: cache-write and audio token sums and the matching rates (NULL = not listed on the row).
    sum(r.cache_write_5m_tokens)::bigint AS cache_write_5m_tokens,
    sum(r.cache_write_1h_tokens)::bigint AS cache_write_1h_tokens,
    sum(r.audio_prompt_tokens)::bigint AS audio_prompt_tokens,
    sum(r.audio_completion_tokens)::bigint AS audio_completion_tokens,
    po.cache_write_input_musd_per_mtok AS official_cache_write_input,
    po.cache_write_1h_input_musd_per_mtok AS official_cache_write_1h_input,
    po.input_audio_musd_per_mtok AS official_input_audio,
    po.output_audio_musd_per_mtok AS official_output_audio,
    ph.cache_write_input_musd_per_mtok AS holysheep_cache_write_input,
    ph.cache_write_1h_input_musd_per_mtok AS holysheep_cache_write_1h_input,
    ph.input_audio_musd_per_mtok AS holysheep_input_audio,
    ph.output_audio_musd_per_mtok AS holysheep_output_audio
FROM call_rollup AS r
LEFT JOIN api_key AS k ON k.id = r.key_id
LEFT JOIN price AS po ON po.id = r.official_price_id
LEFT JOIN price AS ph ON ph.id = r.holysheep_price_id
WHERE r.day >= :from_day AND r.day < :to_day
GROUP BY group_key, r.price_status, r.provider_kind, r.official_price_id, r.holysheep_price_id, po.id, ph.id
-- A key's rollup is the sum of its rows (total and pending, migrations/postgres/0008); a group whose rows sum to no
-- call (only possible after a correction, not yet folded) is no row, as when the old rollup deleted it.
HAVING sum(r.calls) <> 0
ORDER BY group_key;
