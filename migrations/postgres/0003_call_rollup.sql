-- 0003_call_rollup (PostgreSQL; as migrations/0003_call_rollup.sql): what the finance reports read, kept exact and
-- in the same transaction as every insert. Never edit this file once it has shipped; add a new numbered file instead.
--
-- One row per (UTC day, model, provider, provider kind, team, key, tags, price status, price rows) with COUNTS and
-- SUMMED TOKENS only, no money: reports multiply summed tokens by the price rows named here, so a rollup total is
-- exactly the sum of the calls' own costs. NULLs in `call` become sentinels so the primary key can match them:
-- '' for model, provider, provider_kind, team and tags; 0 for key_id and the price ids (real ids start at 1).
CREATE TABLE call_rollup (
    -- Days since 1970-01-01 of started_at_us, UTC (floor division).
    day bigint NOT NULL,
    month integer NOT NULL,
    model text NOT NULL,
    provider text NOT NULL,
    provider_kind text NOT NULL,
    team text NOT NULL,
    key_id bigint NOT NULL,
    tags text NOT NULL,
    price_status text NOT NULL,
    official_price_id bigint NOT NULL,
    holysheep_price_id bigint NOT NULL,
    calls bigint NOT NULL,
    -- status <> 'ok'
    failed_calls bigint NOT NULL,
    fallback_calls bigint NOT NULL,
    -- Token sums over calls whose usage is known (NULL counts add nothing).
    prompt_tokens bigint NOT NULL,
    cached_prompt_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    -- Sum of latency_us over all calls (for the average; percentiles are read from `call` itself, exactly).
    latency_us bigint NOT NULL,
    PRIMARY KEY (day, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                 holysheep_price_id)
);

-- Backfill from calls recorded before this migration.
INSERT INTO call_rollup
SELECT floor(started_at_us / 86400000000.0)::bigint, month,
       coalesce(model, ''), coalesce(provider, ''), coalesce(provider_kind, ''), coalesce(team, ''),
       coalesce(key_id, 0), coalesce(tags, ''), price_status, coalesce(official_price_id, 0),
       coalesce(holysheep_price_id, 0),
       count(*), count(*) FILTER (WHERE status <> 'ok'), sum(fallback_used), coalesce(sum(prompt_tokens), 0),
       coalesce(sum(cached_prompt_tokens), 0), coalesce(sum(completion_tokens), 0), sum(latency_us)
FROM call
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

-- Inserts: no trigger. The writer (LedgerPostgres.PostgresLedger) inserts each batch and upserts its rollup rows in
-- ONE statement (a data-modifying WITH: INSERT INTO call ... RETURNING, grouped into INSERT INTO call_rollup ...
-- ON CONFLICT DO UPDATE), so the rollup is in step with `call` in every commit. Rows inserted into `call` by hand
-- are NOT rolled up; rebuild with the backfill above (DELETE FROM call_rollup first) after such an insert.
--
-- The ledger is append-only, but if a row is ever deleted or corrected the rollup follows it exactly.
CREATE FUNCTION call_rollup_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_rollup SET
        calls = calls - 1,
        failed_calls = failed_calls - (OLD.status <> 'ok')::integer,
        fallback_calls = fallback_calls - OLD.fallback_used,
        prompt_tokens = prompt_tokens - coalesce(OLD.prompt_tokens, 0),
        cached_prompt_tokens = cached_prompt_tokens - coalesce(OLD.cached_prompt_tokens, 0),
        completion_tokens = completion_tokens - coalesce(OLD.completion_tokens, 0),
        latency_us = latency_us - OLD.latency_us
    WHERE day = floor(OLD.started_at_us / 86400000000.0)::bigint
      AND model = coalesce(OLD.model, '') AND provider = coalesce(OLD.provider, '')
      AND provider_kind = coalesce(OLD.provider_kind, '') AND team = coalesce(OLD.team, '')
      AND key_id = coalesce(OLD.key_id, 0) AND tags = coalesce(OLD.tags, '') AND price_status = OLD.price_status
      AND official_price_id = coalesce(OLD.official_price_id, 0)
      AND holysheep_price_id = coalesce(OLD.holysheep_price_id, 0);
    DELETE FROM call_rollup WHERE calls = 0;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO call_rollup VALUES (
            floor(NEW.started_at_us / 86400000000.0)::bigint,
            NEW.month, coalesce(NEW.model, ''), coalesce(NEW.provider, ''), coalesce(NEW.provider_kind, ''),
            coalesce(NEW.team, ''), coalesce(NEW.key_id, 0), coalesce(NEW.tags, ''), NEW.price_status,
            coalesce(NEW.official_price_id, 0), coalesce(NEW.holysheep_price_id, 0),
            1, (NEW.status <> 'ok')::integer, NEW.fallback_used, coalesce(NEW.prompt_tokens, 0),
            coalesce(NEW.cached_prompt_tokens, 0), coalesce(NEW.completion_tokens, 0), NEW.latency_us)
        ON CONFLICT (day, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                     holysheep_price_id) DO UPDATE SET
            calls = call_rollup.calls + 1,
            failed_calls = call_rollup.failed_calls + excluded.failed_calls,
            fallback_calls = call_rollup.fallback_calls + excluded.fallback_calls,
            prompt_tokens = call_rollup.prompt_tokens + excluded.prompt_tokens,
            cached_prompt_tokens = call_rollup.cached_prompt_tokens + excluded.cached_prompt_tokens,
            completion_tokens = call_rollup.completion_tokens + excluded.completion_tokens,
            latency_us = call_rollup.latency_us + excluded.latency_us;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER call_rollup_after_delete AFTER DELETE ON call FOR EACH ROW EXECUTE FUNCTION call_rollup_remove();
CREATE TRIGGER call_rollup_after_update AFTER UPDATE ON call FOR EACH ROW EXECUTE FUNCTION call_rollup_remove();

-- Exact p95 latency per model and month: the report walks this index from the slowest call down. It also serves
-- every `month = ?` lookup call_by_month served, so that narrower index goes.
CREATE INDEX call_by_month_model_latency ON call (month, model, latency_us);
DROP INDEX call_by_month;
