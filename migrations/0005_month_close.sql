-- 0005_month_close: frozen months (`holysheep-ledger close` / `reopen`) and admin keys (`keys create --admin`).
-- Never edit this file once it has shipped; add a new numbered file instead.
--
-- A close copies the month's call_rollup rows (the rows every report of the month is computed from) into
-- month_close_rollup and stores their SHA-256 (reports/month_close_rows.sql, the canonical text, is what is
-- hashed) with the totals computed from them, in one transaction. Reports of a closed month read the copy, so
-- calls recorded later for that month (late arrivals, backfills) do not change it; they are shown as
-- adjustments in the first open month. A reopen is recorded, never deleted: the close row keeps its figures and
-- gets reopened_at_us and the reason.
CREATE TABLE month_close (
    id INTEGER PRIMARY KEY,
    -- yyyymm, as call.month.
    month INTEGER NOT NULL,
    closed_at_us INTEGER NOT NULL,
    -- Lowercase hex SHA-256 of the canonical rows (month_close_rows.sql) at close.
    rows_sha256 TEXT NOT NULL CHECK (length(rows_sha256) = 64),
    -- The largest call id at close: the frozen p95 latencies read calls up to it.
    last_call_id INTEGER NOT NULL,
    -- The month's totals at close, exact: counts, and money in pico-USD as decimal text (Int128 does not fit
    -- SQLite's INTEGER).
    calls INTEGER NOT NULL,
    cost_official_pusd TEXT NOT NULL,
    cost_paid_pusd TEXT NOT NULL,
    reopened_at_us INTEGER,
    reopen_reason TEXT CHECK ((reopened_at_us IS NULL) = (reopen_reason IS NULL))
);
-- At most one close in force per month.
CREATE UNIQUE INDEX month_close_in_force ON month_close (month) WHERE reopened_at_us IS NULL;

-- The frozen rows: call_rollup's columns, per close.
CREATE TABLE month_close_rollup (
    close_id INTEGER NOT NULL REFERENCES month_close (id),
    day INTEGER NOT NULL,
    month INTEGER NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_kind TEXT NOT NULL,
    team TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    tags TEXT NOT NULL,
    price_status TEXT NOT NULL,
    official_price_id INTEGER NOT NULL,
    holysheep_price_id INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    failed_calls INTEGER NOT NULL,
    fallback_calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    cached_prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_us INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    audio_prompt_tokens INTEGER NOT NULL,
    audio_completion_tokens INTEGER NOT NULL,
    PRIMARY KEY (close_id, day, model, provider, provider_kind, team, key_id, tags, price_status,
                 official_price_id, holysheep_price_id)
) WITHOUT ROWID;

-- Frozen rows are never changed.
CREATE TRIGGER month_close_rollup_no_update BEFORE UPDATE ON month_close_rollup
BEGIN
    SELECT RAISE(ABORT, 'month_close_rollup rows are frozen');
END;
CREATE TRIGGER month_close_rollup_no_delete BEFORE DELETE ON month_close_rollup
BEGIN
    SELECT RAISE(ABORT, 'month_close_rollup rows are frozen');
END;

-- Admin keys may read reports over HTTP (`serve`: GET /reports); client keys may not.
ALTER TABLE api_key ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1));
