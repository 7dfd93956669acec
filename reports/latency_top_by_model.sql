-- latency_top_by_model: the slowest :limit latencies of one model in one calendar month, slowest first.
--
-- Parameters: :month (yyyymm), :model (NULL for calls without a model), :limit.
-- Walks the index call_by_month_model_latency (migrations/0003) backwards, so it reads only :limit entries.
-- With limit = n - ceil(0.95 n) + 1 of the whole month, the lists of all models give both each model's and the
-- month's exact p95 (nearest rank), without reading the other 95% of the month.
SELECT latency_us
FROM call
WHERE month = :month AND model IS :model
ORDER BY latency_us DESC
LIMIT :limit;
