-- 0006_budgets: spend limits per team, client key or tag (`holysheep-ledger budgets`), and their alerts.
-- Never edit this file once it has shipped; add a new numbered file instead. docs/budgets.md explains the design.
--
-- A budget limits the exact paid cost (call.cost_paid_pusd) of the calls under its scope in each calendar UTC
-- period (day, week from Monday, month). Spend is never stored here: `serve` counts it from the ledger's own rows
-- (seeded from call at start, then exact in memory: one process records into a SQLite ledger). Only what the call
-- rows cannot tell is stored: the definitions, reservations kept for calls whose usage never arrived, and alerts.
CREATE TABLE budget (
    id INTEGER PRIMARY KEY,
    scope_kind TEXT NOT NULL CHECK (scope_kind = 'team' OR scope_kind = 'key' OR scope_kind = 'tag'),
    -- The team, the api_key id as text, or the tag's name=value.
    scope_value TEXT NOT NULL CHECK (scope_value <> ''),
    period TEXT NOT NULL CHECK (period = 'day' OR period = 'week' OR period = 'month'),
    limit_pusd INTEGER NOT NULL CHECK (limit_pusd > 0),
    action TEXT NOT NULL CHECK (action = 'block' OR action = 'alert'),
    -- Thresholds in basis points of the limit (50% = 5000), ascending, comma-separated ('' = none).
    alert_at_bp TEXT NOT NULL DEFAULT '',
    webhook_url TEXT,
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL,
    -- `budgets remove` keeps the row (its alerts name it) and stamps this.
    removed_at_us INTEGER
);
-- One budget in force per scope and period: `budgets set` on the same pair changes it.
CREATE UNIQUE INDEX budget_in_force ON budget (scope_kind, scope_value, period) WHERE removed_at_us IS NULL;

-- Reservations kept for calls whose usage never arrived (cut streams, failures after the request went upstream):
-- their worst-case cost counts as spent until the period ends, never as zero. One row per budget and period.
CREATE TABLE budget_held (
    budget_id INTEGER NOT NULL REFERENCES budget (id),
    period_start_us INTEGER NOT NULL,
    held_pusd INTEGER NOT NULL CHECK (held_pusd >= 0),
    calls INTEGER NOT NULL,
    PRIMARY KEY (budget_id, period_start_us)
) WITHOUT ROWID;

-- One alert per budget, period and threshold, ever: the unique key is the deduplication.
CREATE TABLE budget_alert (
    id INTEGER PRIMARY KEY,
    budget_id INTEGER NOT NULL REFERENCES budget (id),
    period_start_us INTEGER NOT NULL,
    threshold_bp INTEGER NOT NULL CHECK (threshold_bp > 0),
    -- 'spent': the period's spend reached the threshold; 'refused': the budget refused a call (fires 100%).
    reason TEXT NOT NULL CHECK (reason = 'spent' OR reason = 'refused'),
    spent_pusd INTEGER NOT NULL,
    limit_pusd INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL,
    -- Set when the webhook answered 2xx (NULL: no webhook, still retrying, or given up: see the attempts).
    delivered_at_us INTEGER,
    UNIQUE (budget_id, period_start_us, threshold_bp)
);

-- Every webhook attempt, failed or not.
CREATE TABLE budget_alert_attempt (
    alert_id INTEGER NOT NULL REFERENCES budget_alert (id),
    attempt INTEGER NOT NULL CHECK (attempt > 0),
    at_us INTEGER NOT NULL,
    http_status INTEGER,
    error TEXT,
    delivered INTEGER NOT NULL CHECK (delivered IN (0, 1)),
    PRIMARY KEY (alert_id, attempt)
) WITHOUT ROWID;
