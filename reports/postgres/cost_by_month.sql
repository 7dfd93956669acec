-- cost_by_month (PostgreSQL): the annual report, one result row per calendar month AND price rows used.
-- PostgreSQL dialect of reports/cost_by_month.sql: the same result columns, rows and order; read that file first.
-- Differences: sums are cast back to bigint (token counts and call counts; money is never summed in SQL, the Swift
-- side multiplies summed tokens by each price in Int128), dates come from to_char, tags from strpos/split_part,
-- text is ordered with COLLATE "C" (bytewise, as SQLite), and the joined price rows are grouped by their key.
--
-- Parameters: :from_day, :to_day, a half-open range of UTC days since 1970-01-01 (the year's 1 January to the
-- next 1 January). Same rules as cost_by_group.sql: summed tokens and unit prices here, money computed exactly
-- in Int128 by the Swift side (LedgerReports.AnnualReport), rounded once at presentation.
SELECT
    r.month,
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
LEFT JOIN price AS po ON po.id = r.official_price_id
LEFT JOIN price AS ph ON ph.id = r.holysheep_price_id
WHERE r.day >= :from_day AND r.day < :to_day
GROUP BY r.month, r.price_status, r.provider_kind, r.official_price_id, r.holysheep_price_id, po.id, ph.id
-- A key's rollup is the sum of its rows (total and pending, migrations/postgres/0008); a group whose rows sum to no
-- call (only possible after a correction, not yet folded) is no row, as when the old rollup deleted it.
HAVING sum(r.calls) <> 0
ORDER BY r.month;
