-- export_id_span: the smallest and largest call id of the calendar months a range touches.
-- Parameters: :from_month, :to_month (yyyymm).
-- Reads only the month index (no table rows). The span may include calls just outside the range; the queries
-- that use it (export_calls.sql, latency_by_group.sql) filter on started_at_us, so results stay exact.
SELECT min(id), max(id)
FROM call
WHERE month BETWEEN :from_month AND :to_month;
