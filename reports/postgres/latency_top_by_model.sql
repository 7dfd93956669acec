-- latency_top_by_model (PostgreSQL): the slowest :limit latencies of one model in one calendar month, slowest first;
-- as reports/latency_top_by_model.sql (read that file first).
--
-- Parameters: :month (yyyymm), :model (NULL for calls without a model), :limit.
-- SQLite's `model IS :model` is written as two branches so that each walks the index call_by_month_model_latency
-- (migrations/postgres/0003) backwards with an equality on (month, model) or (month, model IS NULL): at most
-- :limit entries are read, never the month.
(SELECT latency_us FROM call
 WHERE month = :month AND model = :model
 ORDER BY latency_us DESC LIMIT :limit)
UNION ALL
(SELECT latency_us FROM call
 WHERE month = :month AND model IS NULL AND CAST(:model AS text) IS NULL
 ORDER BY latency_us DESC LIMIT :limit)
ORDER BY latency_us DESC
LIMIT :limit;
