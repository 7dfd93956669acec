-- month_close_rows (PostgreSQL): the canonical text of a month's rollup rows, hashed (SHA-256) when the month is
-- closed; as reports/month_close_rows.sql (read that file first): the same lines, byte for byte, in the same order.
--
-- Parameters: :month (yyyymm); :close_id = 0 for the live rows (call_rollup), else a month_close.id for that
-- close's frozen rows (month_close_rollup). One line per row in primary-key order (text compared bytewise,
-- COLLATE "C", as SQLite), the columns in table order joined by a tab (chr 9), each ending in a line feed (chr 10).
-- To verify a close by hand:
--   psql -At -c "SELECT string_agg(line, '') FROM (<this query, :month and :close_id replaced>) AS t" ledger \
--     | head -c -1 | sha256sum
SELECT
    day::text || chr(9) || month::text || chr(9) || model || chr(9) || provider || chr(9) || provider_kind || chr(9)
    || team || chr(9) || key_id::text || chr(9) || tags || chr(9) || price_status || chr(9)
    || official_price_id::text || chr(9) || holysheep_price_id::text || chr(9) || calls::text || chr(9)
    || failed_calls::text || chr(9) || fallback_calls::text || chr(9) || prompt_tokens::text || chr(9)
    || cached_prompt_tokens::text || chr(9) || completion_tokens::text || chr(9) || latency_us::text || chr(9)
    || cache_write_5m_tokens::text || chr(9) || cache_write_1h_tokens::text || chr(9)
    || audio_prompt_tokens::text || chr(9) || audio_completion_tokens::text || chr(10) AS line
FROM (
    -- One row per key: the sum of its total and pending rows (migrations/postgres/0008).
    SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
           holysheep_price_id, sum(calls)::bigint AS calls, sum(failed_calls)::bigint AS failed_calls,
           sum(fallback_calls)::bigint AS fallback_calls, sum(prompt_tokens)::bigint AS prompt_tokens,
           sum(cached_prompt_tokens)::bigint AS cached_prompt_tokens,
           sum(completion_tokens)::bigint AS completion_tokens, sum(latency_us)::bigint AS latency_us,
           sum(cache_write_5m_tokens)::bigint AS cache_write_5m_tokens,
           sum(cache_write_1h_tokens)::bigint AS cache_write_1h_tokens,
           sum(audio_prompt_tokens)::bigint AS audio_prompt_tokens,
           sum(audio_completion_tokens)::bigint AS audio_completion_tokens
    FROM call_rollup
    WHERE :close_id = 0 AND month = :month
    GROUP BY day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
             holysheep_price_id
    HAVING sum(calls) <> 0
    UNION ALL
    SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
           holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, cached_prompt_tokens,
           completion_tokens, latency_us, cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
           audio_completion_tokens
    FROM month_close_rollup
    WHERE close_id = :close_id AND month = :month
) AS frozen
ORDER BY day, model COLLATE "C", provider COLLATE "C", provider_kind COLLATE "C", team COLLATE "C", key_id,
         tags COLLATE "C", price_status COLLATE "C", official_price_id, holysheep_price_id;
