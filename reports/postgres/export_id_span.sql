-- export_id_span (PostgreSQL): the smallest and largest call id of the calendar months a range touches.
-- PostgreSQL dialect of reports/export_id_span.sql: the same result columns, rows and order; read that file first.
-- Differences: sums are cast back to bigint (token counts and call counts; money is never summed in SQL, the Swift
-- side multiplies summed tokens by each price in Int128), dates come from to_char, tags from strpos/split_part,
-- text is ordered with COLLATE "C" (bytewise, as SQLite), and the joined price rows are grouped by their key.
-- Parameters: :from_month, :to_month (yyyymm).
-- Reads only the month index (no table rows). The span may include calls just outside the range; the queries
-- that use it (export_calls.sql, latency_by_group.sql) filter on started_at_us, so results stay exact.
-- PostgreSQL: an index-only scan of the months' entries in call_by_month_team_latency (migrations/postgres/0009,
-- which carries the id), about 0.1 s per 800,000 calls. The OFFSET 0 keeps the planner from its min/max shortcut,
-- a walk of the primary key from the first (or last) id until a call of the months turns up: seconds on 10M calls
-- for a month in the middle of the table, since it expects the months' ids spread over the whole table.
SELECT min(id), max(id)
FROM (SELECT id FROM call WHERE month BETWEEN :from_month AND :to_month OFFSET 0) AS months;
