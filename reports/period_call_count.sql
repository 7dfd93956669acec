-- period_call_count: how many calls a half-open range of UTC days holds, from the rollup (for progress display).
-- Parameters: :from_day, :to_day (days since 1970-01-01).
SELECT coalesce(sum(calls), 0) FROM call_rollup WHERE day >= :from_day AND day < :to_day;
