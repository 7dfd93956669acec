-- export_id_span: the smallest and largest call id, and the number of calls, in a half-open time range.
-- Parameters: :from_us, :to_us (microseconds, UTC), :from_month, :to_month (yyyymm bounds, for the month index).
SELECT min(id), max(id), count(*)
FROM call
WHERE month BETWEEN :from_month AND :to_month
  AND started_at_us >= :from_us AND started_at_us < :to_us;
