-- period_call_count (PostgreSQL): how many calls a half-open range of UTC days holds, from the rollup (for progress display).
-- PostgreSQL dialect of reports/period_call_count.sql: the same result columns, rows and order; read that file first.
-- Differences: sums are cast back to bigint (token counts and call counts; money is never summed in SQL, the Swift
-- side multiplies summed tokens by each price in Int128), dates come from to_char, tags from strpos/split_part,
-- text is ordered with COLLATE "C" (bytewise, as SQLite), and the joined price rows are grouped by their key.
-- Parameters: :from_day, :to_day (days since 1970-01-01).
SELECT coalesce(sum(calls), 0)::bigint FROM call_rollup WHERE day >= :from_day AND day < :to_day;
