-- 0006_budgets: spend limits per team, client key or tag, shared by every `serve` replica (docs/budgets.md).
-- Never edit this file once it has shipped; add a new numbered file instead.
--
-- budget_period holds each budget's counters for one calendar UTC period; a call's reservation is ONE statement
-- on it (LedgerPostgres/PostgresBudgets.swift): the check "spent + held + reserved + this call <= limit" and the
-- increment happen under the row lock, so any number of replicas together never reserve past the limit.
-- Money: pico-USD; per-row limits bigint, sums numeric (exact), never floating point.
CREATE TABLE budget (
    id bigserial PRIMARY KEY,
    scope_kind text NOT NULL CHECK (scope_kind IN ('team', 'key', 'tag')),
    -- The team, the api_key id as text, or the tag's name=value.
    scope_value text NOT NULL CHECK (scope_value <> ''),
    period text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    limit_pusd bigint NOT NULL CHECK (limit_pusd > 0),
    action text NOT NULL CHECK (action IN ('block', 'alert')),
    -- Thresholds in basis points of the limit (50% = 5000), ascending, comma-separated ('' = none).
    alert_at_bp text NOT NULL DEFAULT '',
    webhook_url text,
    created_at_us bigint NOT NULL,
    updated_at_us bigint NOT NULL,
    removed_at_us bigint
);
CREATE UNIQUE INDEX budget_in_force ON budget (scope_kind, scope_value, period) WHERE removed_at_us IS NULL;

-- One row per budget and period, created (seeded with the recorded paid cost of the period's calls so far) by the
-- first call of the period on any replica.
CREATE TABLE budget_period (
    budget_id bigint NOT NULL REFERENCES budget (id),
    period_start_us bigint NOT NULL,
    period_end_us bigint NOT NULL,
    -- Exact recorded paid cost of the period's calls under the budget (settled calls).
    spent_pusd numeric(38, 0) NOT NULL CHECK (spent_pusd >= 0),
    -- Reservations kept for calls whose usage never arrived: counted as spent until the period ends.
    held_pusd numeric(38, 0) NOT NULL DEFAULT 0 CHECK (held_pusd >= 0),
    -- Reservations of calls in flight (worst-case cost, until their row is recorded).
    reserved_pusd numeric(38, 0) NOT NULL DEFAULT 0 CHECK (reserved_pusd >= 0),
    PRIMARY KEY (budget_id, period_start_us)
);

-- One alert per budget, period and threshold across all replicas: the unique key is the deduplication.
CREATE TABLE budget_alert (
    id bigserial PRIMARY KEY,
    budget_id bigint NOT NULL REFERENCES budget (id),
    period_start_us bigint NOT NULL,
    threshold_bp bigint NOT NULL CHECK (threshold_bp > 0),
    reason text NOT NULL CHECK (reason IN ('spent', 'refused')),
    spent_pusd numeric(38, 0) NOT NULL,
    limit_pusd bigint NOT NULL,
    created_at_us bigint NOT NULL,
    delivered_at_us bigint,
    UNIQUE (budget_id, period_start_us, threshold_bp)
);

-- Every webhook attempt.
CREATE TABLE budget_alert_attempt (
    alert_id bigint NOT NULL REFERENCES budget_alert (id),
    attempt integer NOT NULL CHECK (attempt > 0),
    at_us bigint NOT NULL,
    http_status integer,
    error text,
    delivered boolean NOT NULL,
    PRIMARY KEY (alert_id, attempt)
);
