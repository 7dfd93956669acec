-- month_close_rows: the canonical text of a month's rollup rows, hashed (SHA-256) when the month is closed.
--
-- Parameters: :month (yyyymm); :close_id = 0 for the live rows (call_rollup), else a month_close.id for that
-- close's frozen rows (month_close_rollup). One line per row in primary-key order, the columns in table order
-- joined by a tab (char 9), each ending in a line feed (char 10); the SHA-256 of the concatenated lines (UTF-8)
-- is month_close.rows_sha256. To verify a close by hand (sqlite3 adds one newline of its own; head drops it):
--   sqlite3 ledger.sqlite "SELECT group_concat(line, '') FROM (<this query, :month and :close_id replaced>)" \
--     | head -c -1 | sha256sum
SELECT
    day || char(9) || month || char(9) || model || char(9) || provider || char(9) || provider_kind || char(9)
    || team || char(9) || key_id || char(9) || tags || char(9) || price_status || char(9)
    || official_price_id || char(9) || holysheep_price_id || char(9) || calls || char(9) || failed_calls
    || char(9) || fallback_calls || char(9) || prompt_tokens || char(9) || cached_prompt_tokens || char(9)
    || completion_tokens || char(9) || latency_us || char(9) || cache_write_5m_tokens || char(9)
    || cache_write_1h_tokens || char(9) || audio_prompt_tokens || char(9) || audio_completion_tokens || char(10) AS line
FROM (
    SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
           holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, cached_prompt_tokens,
           completion_tokens, latency_us, cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
           audio_completion_tokens
    FROM call_rollup
    WHERE :close_id = 0 AND month = :month
    UNION ALL
    SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
           holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, cached_prompt_tokens,
           completion_tokens, latency_us, cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
           audio_completion_tokens
    FROM month_close_rollup
    WHERE close_id = :close_id AND month = :month
)
ORDER BY day, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
         holysheep_price_id;
