-- export_calls (PostgreSQL): the raw call rows of a half-open time range, in id order, for `holysheep-ledger export`.
-- PostgreSQL dialect of reports/export_calls.sql: the same result columns, rows and order; read that file first.
-- Differences: sums are cast back to bigint (token counts and call counts; money is never summed in SQL, the Swift
-- side multiplies summed tokens by each price in Int128), dates come from to_char, tags from strpos/split_part,
-- text is ordered with COLLATE "C" (bytewise, as SQLite), and the joined price rows are grouped by their key.
--
-- Parameters: :from_us, :to_us (microseconds since the epoch, UTC, from <= started_at_us < to),
--             :from_id, :to_id (the id span of the months the range touches, from export_id_span.sql).
-- Reading by id range walks the table in storage order and streams: no sort, constant memory. The started_at_us
-- filter keeps the result exact even when ids and start times are not in the same order.
-- The exported columns come as one ROW(...) cell per call, which PostgresReportStore reads as its fields (the
-- columns 0-39 of SQLite's query): one cell per row instead of 40 costs postgres-nio far less per row.
SELECT ROW(id, started_at_us, finished_at_us, endpoint, requested_model, model, provider, provider_kind, stream,
       status, http_status, error_type, attempts, fallback_used, prompt_tokens, cached_prompt_tokens,
       completion_tokens, reasoning_tokens, usage_source, latency_us, upstream_latency_us, ttft_us, queue_wait_us,
       inflight_at_admission, key_id, team, tags, upstream_request_id, price_status, official_price_id,
       holysheep_price_id, cost_paid_pusd, cost_official_pusd, cost_holysheep_pusd,
       cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens, audio_completion_tokens, service_tier,
       missing_costs) AS call,
       -- paging key (PostgresReportStore reads pages of :page_size rows after :after_id; not exported)
       id
FROM call
WHERE id BETWEEN :from_id AND :to_id
  AND started_at_us >= :from_us AND started_at_us < :to_us
  AND id > :after_id
ORDER BY id
LIMIT :page_size;
