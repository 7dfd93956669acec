-- latency_p95_by_group (PostgreSQL only): the EXACT p95 (nearest rank) of each group and of all calls, ranked on the
-- server, so that no latency leaves the database (latency_by_group.sql sends every call's, for SQLite's way).
-- LedgerReports.LatencyPercentile uses this query when the store's dialect has it (SQLite has no ordered-set
-- aggregates, so reports/ has no such file); the answers are the same.
--
-- Parameters: :from_us, :to_us (half-open, microseconds since the epoch, UTC), :from_month, :to_month (the yyyymm
-- the range touches, for the month index), :max_id (only calls with an id up to it: a closed month's calls as
-- recorded at the close; else the largest bigint), :by and :tag as in cost_by_group.sql (the group expression is
-- latency_by_group.sql's), and :month, the yyyymm of the period when it is one whole calendar month of live calls
-- (no :max_id), else 0.
-- Result: one row per group (is_total = 0) and one for all calls (is_total = 1, group_key NULL):
--   is_total, group_key, p95_us
-- p95 = the latency at rank ceil(0.95 x n) in ascending order = the (n - ceil(0.95 n) + 1)-th slowest.
--
-- A whole month by model or by team walks the index call_by_month_model_latency (0003) or
-- call_by_month_team_latency (0009) from each group's slowest call down, with n per group from the rollup (the
-- report's own call counts, as the SQLite way's latency_top_by_model.sql): each group's p95 reads about 5% of the
-- group's index entries (OFFSET n - ceil(0.95 n)). For all calls: with L the smallest group p95, every group has at
-- least floor(0.05 n_g) + 1 calls at L or slower, and these add up to at least m = floor(0.05 n) + 1 (floor(a) +
-- floor(b) >= floor(a + b) - 1 per group added), so the m slowest calls of the month are all >= L: their m-th is
-- the month's p95, read from at most m entries >= L of each group. The group '' holds both '' and NULL (two index
-- ranges, merged).
-- Any other period or grouping ranks every call of the period with percentile_disc(0.95), which is exactly the
-- nearest rank: it returns the first value whose rank r has r >= 0.95 n, i.e. r = ceil(0.95 n) (the float product
-- 0.95 x n rounds to that ceiling for every n below 2^50: when 95n/100 is an integer the double product is that
-- integer or just below it, otherwise it is at least 0.05 from any integer).
WITH counts AS (
    SELECT CASE CAST(:by AS text) WHEN 'model' THEN r.model ELSE r.team END AS group_key, sum(r.calls)::bigint AS n
    FROM call_rollup AS r
    WHERE CAST(:by AS text) IN ('model', 'team') AND :month <> 0 AND r.month = :month
      AND r.day >= :from_us / 86400000000 AND r.day < :to_us / 86400000000  -- call_rollup_by_day (0009)
    GROUP BY 1
    HAVING sum(r.calls) > 0
),
group_p95 AS (
    SELECT
        g.group_key,
        -- one backward index scan per group; the group '' merges the entries '' and NULL
        CASE
            WHEN CAST(:by AS text) = 'model' AND g.group_key <> '' THEN (
                SELECT c.latency_us FROM call AS c WHERE c.month = :month AND c.model = g.group_key
                ORDER BY c.latency_us DESC OFFSET g.n - (95 * g.n + 99) / 100 LIMIT 1)
            WHEN CAST(:by AS text) = 'model' THEN (
                SELECT u.latency_us FROM (
                    SELECT c.latency_us FROM call AS c WHERE c.month = :month AND c.model = ''
                    UNION ALL
                    SELECT c.latency_us FROM call AS c WHERE c.month = :month AND c.model IS NULL
                ) AS u
                ORDER BY u.latency_us DESC OFFSET g.n - (95 * g.n + 99) / 100 LIMIT 1)
            WHEN g.group_key <> '' THEN (
                SELECT c.latency_us FROM call AS c WHERE c.month = :month AND c.team = g.group_key
                ORDER BY c.latency_us DESC OFFSET g.n - (95 * g.n + 99) / 100 LIMIT 1)
            ELSE (
                SELECT u.latency_us FROM (
                    SELECT c.latency_us FROM call AS c WHERE c.month = :month AND c.team = ''
                    UNION ALL
                    SELECT c.latency_us FROM call AS c WHERE c.month = :month AND c.team IS NULL
                ) AS u
                ORDER BY u.latency_us DESC OFFSET g.n - (95 * g.n + 99) / 100 LIMIT 1)
        END AS p95_us
    FROM counts AS g
),
bound AS (
    -- integer division on bigint (sum() would make it numeric)
    SELECT (SELECT min(p95_us) FROM group_p95) AS low, t.n - (95 * t.n + 99) / 100 + 1 AS m
    FROM (SELECT sum(n)::bigint AS n FROM counts) AS t
),
slowest AS (
    SELECT t.latency_us
    FROM counts AS g
    CROSS JOIN LATERAL (
        SELECT u.latency_us FROM (
            SELECT c.latency_us FROM call AS c
            WHERE CAST(:by AS text) = 'model' AND c.month = :month AND c.model = g.group_key
              AND c.latency_us >= (SELECT low FROM bound)
            UNION ALL
            SELECT c.latency_us FROM call AS c
            WHERE CAST(:by AS text) = 'model' AND c.month = :month AND c.model IS NULL AND g.group_key = ''
              AND c.latency_us >= (SELECT low FROM bound)
            UNION ALL
            SELECT c.latency_us FROM call AS c
            WHERE CAST(:by AS text) = 'team' AND c.month = :month AND c.team = g.group_key
              AND c.latency_us >= (SELECT low FROM bound)
            UNION ALL
            SELECT c.latency_us FROM call AS c
            WHERE CAST(:by AS text) = 'team' AND c.month = :month AND c.team IS NULL AND g.group_key = ''
              AND c.latency_us >= (SELECT low FROM bound)
        ) AS u
        ORDER BY u.latency_us DESC LIMIT (SELECT m FROM bound)
    ) AS t
),
scan AS (
    SELECT
        CASE CAST(:by AS text)
            WHEN 'model' THEN coalesce(c.model, '')
            WHEN 'provider' THEN coalesce(c.provider, '')
            WHEN 'team' THEN coalesce(c.team, '')
            WHEN 'key' THEN CASE WHEN c.key_id IS NULL THEN ''
                ELSE coalesce((SELECT k.name FROM api_key AS k WHERE k.id = c.key_id), 'key') || ' #' || c.key_id::text
                END
            WHEN 'day' THEN to_char(date '1970-01-01' + floor(c.started_at_us / 86400000000.0)::integer, 'YYYY-MM-DD')
            WHEN 'tag' THEN
                CASE WHEN strpos(',' || coalesce(c.tags, '') || ',', ',' || :tag || '=') = 0 THEN ''
                ELSE split_part(substr(',' || c.tags || ',', strpos(',' || c.tags || ',', ',' || :tag || '=')
                                       + length(CAST(:tag AS text)) + 2), ',', 1)
                END
        END AS group_key,
        c.latency_us
    FROM call AS c
    WHERE NOT (CAST(:by AS text) IN ('model', 'team') AND :month <> 0)
      AND c.month BETWEEN :from_month AND :to_month AND c.id <= :max_id
      AND c.started_at_us >= :from_us AND c.started_at_us < :to_us
)
SELECT 0 AS is_total, group_key, p95_us FROM group_p95
UNION ALL
SELECT 1, NULL, (SELECT latency_us FROM slowest ORDER BY latency_us DESC OFFSET (SELECT m FROM bound) - 1 LIMIT 1)
WHERE CAST(:by AS text) IN ('model', 'team') AND :month <> 0
UNION ALL
SELECT grouping(group_key), group_key, percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_us)
FROM scan
GROUP BY GROUPING SETS ((group_key), ())
HAVING count(*) > 0;  -- no all-calls row from an empty scan (the first branch gave it)
