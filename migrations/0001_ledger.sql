-- 0001_ledger: the ledger's tables. Never edit this file once it has shipped; add a new numbered file instead.
--
-- Units are in the column names:
--   _us              microseconds (timestamps: since 1970-01-01T00:00:00Z, UTC)
--   _musd_per_mtok   whole micro-USD per million tokens ($0.0672/MTok = 67200)
--   _pusd            pico-USD (1e-12 USD): tokens x _musd_per_mtok is exactly pico-USD, so no cost is ever rounded here.
-- Money is rounded once, half-even to the cent, only when a report presents it.

-- The effective-dated price book. A call is costed with the rows in effect at its started_at_us;
-- a later price change never alters a recorded call (its costs and price ids are stored on the call row).
CREATE TABLE price (
    id INTEGER PRIMARY KEY,
    provider_kind TEXT NOT NULL CHECK (provider_kind IN ('official', 'holysheep')),
    model TEXT NOT NULL CHECK (model <> ''),
    input_musd_per_mtok INTEGER NOT NULL CHECK (input_musd_per_mtok >= 0),
    cached_input_musd_per_mtok INTEGER NOT NULL CHECK (cached_input_musd_per_mtok >= 0),
    output_musd_per_mtok INTEGER NOT NULL CHECK (output_musd_per_mtok >= 0),
    currency TEXT NOT NULL DEFAULT 'USD' CHECK (currency = 'USD'),
    effective_from_us INTEGER NOT NULL,
    source TEXT NOT NULL,
    created_at_us INTEGER NOT NULL,
    UNIQUE (provider_kind, model, effective_from_us)
);

-- Client keys, for attribution. The secret itself is never stored: only a salted SHA-256 of it.
-- lookup_prefix is the public start of the secret ("hsl-" + 8 characters) used to find the row before the
-- constant-time hash comparison.
CREATE TABLE api_key (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (name <> ''),
    team TEXT,
    lookup_prefix TEXT NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created_at_us INTEGER NOT NULL,
    revoked_at_us INTEGER
);

-- One row per client call, success or failure, streamed or not.
CREATE TABLE call (
    id INTEGER PRIMARY KEY,
    started_at_us INTEGER NOT NULL,
    finished_at_us INTEGER NOT NULL,
    -- yyyymm of started_at_us in UTC (202611): reports select a month or a year by this indexed column.
    month INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    requested_model TEXT,
    model TEXT,
    provider TEXT,
    provider_kind TEXT CHECK (provider_kind IN ('official', 'holysheep')),
    stream INTEGER NOT NULL CHECK (stream IN (0, 1)),
    -- Written as = ... OR rather than IN (...): SQLite builds a temporary b-tree for an IN list of more than two
    -- values on every insert, which cost ~10% of the writer's time (bench/README.md). Same meaning.
    status TEXT NOT NULL
        CHECK (status = 'ok' OR status = 'upstream_error' OR status = 'client_error' OR status = 'timeout'
               OR status = 'cancelled' OR status = 'interrupted'),
    http_status INTEGER,
    error_type TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    fallback_used INTEGER NOT NULL DEFAULT 0 CHECK (fallback_used IN (0, 1)),
    -- Token counts are NULL when usage_source = 'missing': unknown, not zero.
    prompt_tokens INTEGER,
    cached_prompt_tokens INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens INTEGER,
    usage_source TEXT NOT NULL CHECK (usage_source IN ('upstream', 'missing')),
    latency_us INTEGER NOT NULL,
    upstream_latency_us INTEGER,
    ttft_us INTEGER,
    queue_wait_us INTEGER,
    inflight_at_admission INTEGER,
    key_id INTEGER,
    team TEXT,
    tags TEXT,
    upstream_request_id TEXT,
    -- How the call was costed:
    --   priced    usage known and both price lists have the model: every cost below is set
    --   unpriced  usage known but no price row covers the model: costs NULL, never zero
    --   no_usage  no usage reached the ledger (errors, cut streams): costs NULL
    price_status TEXT NOT NULL
        CHECK (price_status = 'priced' OR price_status = 'unpriced' OR price_status = 'no_usage'),
    official_price_id INTEGER REFERENCES price (id),
    holysheep_price_id INTEGER REFERENCES price (id),
    -- Cost at the price of the provider that served the call (HolySheep, or official when the fallback served).
    cost_paid_pusd INTEGER,
    cost_official_pusd INTEGER,
    cost_holysheep_pusd INTEGER
);

CREATE INDEX call_by_month ON call (month);

-- Exchange rates for reports in other currencies: units of `currency` per 1 USD, as an exact decimal string
-- scaled by 1e6 (35.50 THB per USD = 35500000), effective from a UTC day.
CREATE TABLE rate (
    id INTEGER PRIMARY KEY,
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    per_usd_micros INTEGER NOT NULL CHECK (per_usd_micros > 0),
    effective_from_us INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL,
    UNIQUE (currency, effective_from_us)
);
