-- latency_by_group: every call's latency with its group, for the EXACT p95 (nearest rank) of any grouping.
--
-- Parameters: :from_us, :to_us (half-open, microseconds since the epoch, UTC), :from_id, :to_id (the id span of
-- the months the range touches, from export_id_span.sql: the scan walks the table in storage order instead of
-- jumping from index entries to rows), :by and :tag as in cost_by_group.sql.
-- The group expression is the same as in cost_by_group.sql, over `call` instead of `call_rollup` (NULL -> '').
-- p95 = the latency at rank ceil(0.95 x n) in ascending order; average = sum / n (from the rollup).
SELECT
    CASE :by
        WHEN 'model' THEN coalesce(c.model, '')
        WHEN 'provider' THEN coalesce(c.provider, '')
        WHEN 'team' THEN coalesce(c.team, '')
        WHEN 'key' THEN CASE WHEN c.key_id IS NULL THEN ''
            ELSE coalesce((SELECT k.name FROM api_key AS k WHERE k.id = c.key_id), 'key') || ' #' || c.key_id END
        WHEN 'day' THEN date(c.started_at_us / 1000000, 'unixepoch')
        WHEN 'tag' THEN
            CASE WHEN instr(',' || coalesce(c.tags, '') || ',', ',' || :tag || '=') = 0 THEN ''
            ELSE substr(',' || c.tags || ',', instr(',' || c.tags || ',', ',' || :tag || '=') + length(:tag) + 2,
                        instr(substr(',' || c.tags || ',',
                                     instr(',' || c.tags || ',', ',' || :tag || '=') + length(:tag) + 2), ',') - 1)
            END
    END AS group_key,
    c.latency_us
FROM call AS c
WHERE c.id BETWEEN :from_id AND :to_id
  AND c.started_at_us >= :from_us AND c.started_at_us < :to_us;
