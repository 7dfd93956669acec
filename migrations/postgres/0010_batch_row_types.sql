-- 0010_batch_row_types (PostgreSQL only): the row types a writer's batch is bound as. Never edit this file once it
-- has shipped; add a new numbered file (and a new _vN type) instead.
--
-- Before this file a batch bound each of call's 42 columns as an array of its own and read them back with
-- `unnest($1, …, $42)`: PostgreSQL materialises every one of those 42 function results in a tuple store of its own
-- and zips them, which cost about as much server CPU as the inserts themselves (32-call batches: ~1.8 s of server
-- CPU per 2,000 batches against ~1.0 s for a plain INSERT … SELECT of the same rows; bench/README.md, "PostgreSQL
-- writer: one array of rows"). A batch now binds ONE array of `call_batch_row_v1` (and one of
-- `call_rollup_batch_row_v1` for its pending rollup rows): `unnest` of one array, one tuple store.
--
-- Types of their own, not `call`'s row type: the INSERT still names call's columns, so a later migration that adds a
-- column to `call` leaves replicas that still bind v1 writing as before. Integer fields are all bigint (the INSERT's
-- assignment cast narrows them to call's integer columns, as it did for the int8[] arrays); the writer encodes each
-- field as int8 or text, in this order.
CREATE TYPE call_batch_row_v1 AS (
    id bigint, started_at_us bigint, finished_at_us bigint, month bigint, endpoint text, requested_model text,
    model text, provider text, provider_kind text, stream bigint, status text, http_status bigint, error_type text,
    attempts bigint, fallback_used bigint, prompt_tokens bigint, cached_prompt_tokens bigint,
    completion_tokens bigint, reasoning_tokens bigint, usage_source text, latency_us bigint,
    upstream_latency_us bigint, ttft_us bigint, queue_wait_us bigint, inflight_at_admission bigint, key_id bigint,
    team text, tags text, upstream_request_id text, price_status text, official_price_id bigint,
    holysheep_price_id bigint, cost_paid_pusd bigint, cost_official_pusd bigint, cost_holysheep_pusd bigint,
    cache_write_5m_tokens bigint, cache_write_1h_tokens bigint, audio_prompt_tokens bigint,
    audio_completion_tokens bigint, service_tier text, missing_costs text, upstream_model text
);

CREATE TYPE call_rollup_batch_row_v1 AS (
    day bigint, month bigint, model text, provider text, provider_kind text, team text, key_id bigint, tags text,
    price_status text, official_price_id bigint, holysheep_price_id bigint, calls bigint, failed_calls bigint,
    fallback_calls bigint, prompt_tokens bigint, cached_prompt_tokens bigint, completion_tokens bigint,
    latency_us bigint, cache_write_5m_tokens bigint, cache_write_1h_tokens bigint, audio_prompt_tokens bigint,
    audio_completion_tokens bigint
);

