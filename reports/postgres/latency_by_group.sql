-- latency_by_group (PostgreSQL): every call's latency with its group, for the EXACT p95 (nearest rank) of any grouping.
-- PostgreSQL dialect of reports/latency_by_group.sql: the same result columns, rows and order; read that file first.
-- Differences: sums are cast back to bigint (token counts and call counts; money is never summed in SQL, the Swift
-- side multiplies summed tokens by each price in Int128), dates come from to_char, tags from strpos/split_part,
-- text is ordered with COLLATE "C" (bytewise, as SQLite), and the joined price rows are grouped by their key.
--
-- Parameters: :from_us, :to_us (half-open, microseconds since the epoch, UTC), :from_id, :to_id (the id span of
-- the months the range touches, from export_id_span.sql: the scan walks the table in storage order instead of
-- jumping from index entries to rows), :by and :tag as in cost_by_group.sql.
-- The group expression is the same as in cost_by_group.sql, over `call` instead of `call_rollup` (NULL -> '').
-- p95 = the latency at rank ceil(0.95 x n) in ascending order; average = sum / n (from the rollup).
SELECT
    CASE CAST(:by AS text)
        WHEN 'model' THEN coalesce(c.model, '')
        WHEN 'provider' THEN coalesce(c.provider, '')
        WHEN 'team' THEN coalesce(c.team, '')
        WHEN 'key' THEN CASE WHEN c.key_id IS NULL THEN ''
            ELSE coalesce((SELECT k.name FROM api_key AS k WHERE k.id = c.key_id), 'key') || ' #' || c.key_id::text END
        WHEN 'day' THEN to_char(date '1970-01-01' + floor(c.started_at_us / 86400000000.0)::integer, 'YYYY-MM-DD')
        WHEN 'tag' THEN
            CASE WHEN strpos(',' || coalesce(c.tags, '') || ',', ',' || :tag || '=') = 0 THEN ''
            ELSE split_part(substr(',' || c.tags || ',', strpos(',' || c.tags || ',', ',' || :tag || '=')
                                   + length(CAST(:tag AS text)) + 2), ',', 1)
            END
    END AS group_key,
    c.latency_us,
    -- paging key (PostgresReportStore reads pages of :page_size rows after :after_id, by the primary key)
    c.id
FROM call AS c
WHERE c.id BETWEEN :from_id AND :to_id
  AND c.started_at_us >= :from_us AND c.started_at_us < :to_us
  AND c.id > :after_id
ORDER BY c.id
LIMIT :page_size;
