-- 0009_report_indexes (PostgreSQL only): indexes and statistics for the reports of issue 12 on a large ledger.
--
-- Exact p95 latency per team and month, as 0003's call_by_month_model_latency gives it per model: `report --month
-- M --by team` (reports/postgres/latency_p95_by_group.sql) walks each team's entries from the slowest call down,
-- reading about 5% of them and no table row (an index-only scan once VACUUM, or autovacuum, has marked the pages
-- all-visible), instead of every call of the month. The call id rides along (INCLUDE): the id span of a month
-- (reports/postgres/export_id_span.sql, before the export) is then an index-only scan of the month's entries, not a
-- walk of the primary key from the first call (seconds on 10M calls when the month is late in the table).
-- One more index entry per recorded call.
CREATE INDEX call_by_month_team_latency ON call (month, team, latency_us) INCLUDE (id);

-- The rollup rows of a day range (every report over call_rollup: cost_by_group, cost_by_month, reconcile, the
-- period's call count) without reading the other months' rows.
CREATE INDEX call_rollup_by_day ON call_rollup (day);

-- How many distinct report groups the rollup holds (a year has about 84 month x status x kind x price rows): without
-- these statistics the planner takes every rollup row for its own group and sorts the year's 100,000 rows instead
-- of hashing them (report --year: 300 ms instead of 110 ms on 10M calls).
CREATE STATISTICS call_rollup_report_groups (ndistinct)
    ON month, price_status, provider_kind, official_price_id, holysheep_price_id FROM call_rollup;
ANALYZE call_rollup;
--
-- The indexes are built without CONCURRENTLY (a migration runs in one transaction): writers wait while they build
-- (about 30 s per 10 million calls on the benchmark machine).
