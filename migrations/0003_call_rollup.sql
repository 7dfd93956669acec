-- 0003_call_rollup: what the finance reports read, kept exact and in the same transaction as every insert.
-- Never edit this file once it has shipped; add a new numbered file instead.
--
-- Why: a month of a busy ledger is ~1M call rows; summing them per report takes seconds. call_rollup holds one row
-- per (UTC day, model, provider, provider kind, team, key, tags, price status, price rows) with COUNTS and SUMMED
-- TOKENS only: no money. Reports multiply summed tokens by the price rows named here (docs/ARCHITECTURE.md, "Money"), so a rollup
-- total is exactly the sum of the calls' own costs. It is kept in step with `call` inside the inserting
-- transaction: by CallRecord.insert for inserts (see below), by triggers for the rare UPDATE and DELETE.
--
-- NULLs in `call` become sentinels here so the primary key can match them: '' for model, provider, provider_kind,
-- team and tags; 0 for key_id and the price ids (real ids start at 1). Reports show '' as "(none)".
CREATE TABLE call_rollup (
    -- Days since 1970-01-01 of started_at_us, UTC (floor division).
    day INTEGER NOT NULL,
    -- yyyymm of started_at_us, as call.month.
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
    -- status <> 'ok'
    failed_calls INTEGER NOT NULL,
    fallback_calls INTEGER NOT NULL,
    -- Token sums over calls whose usage is known (NULL counts add nothing).
    prompt_tokens INTEGER NOT NULL,
    cached_prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    -- Sum of latency_us over all calls (for the average; percentiles are read from `call` itself, exactly).
    latency_us INTEGER NOT NULL,
    PRIMARY KEY (day, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                 holysheep_price_id)
) WITHOUT ROWID;

-- Backfill from calls recorded before this migration.
INSERT INTO call_rollup
SELECT (started_at_us - ((started_at_us % 86400000000) + 86400000000) % 86400000000) / 86400000000, month,
       coalesce(model, ''), coalesce(provider, ''), coalesce(provider_kind, ''), coalesce(team, ''),
       coalesce(key_id, 0), coalesce(tags, ''), price_status, coalesce(official_price_id, 0),
       coalesce(holysheep_price_id, 0),
       count(*), sum(status <> 'ok'), sum(fallback_used), coalesce(sum(prompt_tokens), 0),
       coalesce(sum(cached_prompt_tokens), 0), coalesce(sum(completion_tokens), 0), sum(latency_us)
FROM call
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

-- Inserts: no trigger. CallRecord.insert (the ledger's only insert path: LedgerWriter's batches and
-- LedgerDatabase.insert) sums each transaction's new rows per key above in memory and upserts every distinct key
-- once, in the inserting transaction. A per-row AFTER INSERT trigger did the same work per row and halved the
-- writer's throughput (bench/reports.md). Rows inserted into `call` by hand (sqlite3, scripts) are therefore NOT
-- rolled up; rebuild with the backfill above (DELETE FROM call_rollup first) after such an insert.
--
-- The ledger is append-only, but if a row is ever deleted or corrected the rollup follows it exactly.
CREATE TRIGGER call_rollup_after_delete AFTER DELETE ON call
BEGIN
    UPDATE call_rollup SET
        calls = calls - 1,
        failed_calls = failed_calls - (OLD.status <> 'ok'),
        fallback_calls = fallback_calls - OLD.fallback_used,
        prompt_tokens = prompt_tokens - coalesce(OLD.prompt_tokens, 0),
        cached_prompt_tokens = cached_prompt_tokens - coalesce(OLD.cached_prompt_tokens, 0),
        completion_tokens = completion_tokens - coalesce(OLD.completion_tokens, 0),
        latency_us = latency_us - OLD.latency_us
    WHERE day = (OLD.started_at_us - ((OLD.started_at_us % 86400000000) + 86400000000) % 86400000000) / 86400000000
      AND model = coalesce(OLD.model, '') AND provider = coalesce(OLD.provider, '')
      AND provider_kind = coalesce(OLD.provider_kind, '') AND team = coalesce(OLD.team, '')
      AND key_id = coalesce(OLD.key_id, 0) AND tags = coalesce(OLD.tags, '') AND price_status = OLD.price_status
      AND official_price_id = coalesce(OLD.official_price_id, 0)
      AND holysheep_price_id = coalesce(OLD.holysheep_price_id, 0);
    DELETE FROM call_rollup WHERE calls = 0;
END;

CREATE TRIGGER call_rollup_after_update AFTER UPDATE ON call
BEGIN
    UPDATE call_rollup SET
        calls = calls - 1,
        failed_calls = failed_calls - (OLD.status <> 'ok'),
        fallback_calls = fallback_calls - OLD.fallback_used,
        prompt_tokens = prompt_tokens - coalesce(OLD.prompt_tokens, 0),
        cached_prompt_tokens = cached_prompt_tokens - coalesce(OLD.cached_prompt_tokens, 0),
        completion_tokens = completion_tokens - coalesce(OLD.completion_tokens, 0),
        latency_us = latency_us - OLD.latency_us
    WHERE day = (OLD.started_at_us - ((OLD.started_at_us % 86400000000) + 86400000000) % 86400000000) / 86400000000
      AND model = coalesce(OLD.model, '') AND provider = coalesce(OLD.provider, '')
      AND provider_kind = coalesce(OLD.provider_kind, '') AND team = coalesce(OLD.team, '')
      AND key_id = coalesce(OLD.key_id, 0) AND tags = coalesce(OLD.tags, '') AND price_status = OLD.price_status
      AND official_price_id = coalesce(OLD.official_price_id, 0)
      AND holysheep_price_id = coalesce(OLD.holysheep_price_id, 0);
    DELETE FROM call_rollup WHERE calls = 0;
    INSERT INTO call_rollup VALUES (
        (NEW.started_at_us - ((NEW.started_at_us % 86400000000) + 86400000000) % 86400000000) / 86400000000,
        NEW.month, coalesce(NEW.model, ''), coalesce(NEW.provider, ''), coalesce(NEW.provider_kind, ''),
        coalesce(NEW.team, ''), coalesce(NEW.key_id, 0), coalesce(NEW.tags, ''), NEW.price_status,
        coalesce(NEW.official_price_id, 0), coalesce(NEW.holysheep_price_id, 0),
        1, NEW.status <> 'ok', NEW.fallback_used, coalesce(NEW.prompt_tokens, 0),
        coalesce(NEW.cached_prompt_tokens, 0), coalesce(NEW.completion_tokens, 0), NEW.latency_us)
    ON CONFLICT DO UPDATE SET
        calls = calls + 1,
        failed_calls = failed_calls + excluded.failed_calls,
        fallback_calls = fallback_calls + excluded.fallback_calls,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        cached_prompt_tokens = cached_prompt_tokens + excluded.cached_prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        latency_us = latency_us + excluded.latency_us;
END;

-- Exact p95 latency per model and month without reading the month: the report walks this index from the slowest
-- call down, only as far as the top 5% (reports/latency_top_by_model.sql). It also serves every `month = ?` lookup
-- call_by_month served, so that narrower index goes.
CREATE INDEX call_by_month_model_latency ON call (month, model, latency_us);
DROP INDEX call_by_month;
