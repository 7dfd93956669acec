-- 0008_insert_only_rollup (PostgreSQL only; SQLite keeps its rollup as it is): let several writer connections, in one
-- replica or many, commit calls at the same time. Never edit this file once it has shipped; add a new numbered file.
--
-- Before this file every batch upserted its call_rollup rows (ON CONFLICT DO UPDATE), so every writer waited for the
-- row locks of the rollup rows the batch before it had touched until that batch's commit (fsync included): all
-- writers of all replicas committed one after the other, whatever the number of connections. Each inserted call also
-- checked two foreign keys on `price`, which lock the price rows (FOR KEY SHARE) that every batch shares.
--
-- 1. call_rollup gains `pending`. Rows with pending = 0 are the folded totals, one per key as before (the primary
--    key becomes a unique index over the same columns for those rows only). A writer's batch INSERTS its sums as
--    new rows with pending = 1, in the same statement (and commit) as its calls: no row is updated, nothing waits.
--    `call_rollup_fold()` (below) moves pending rows into the totals; each `serve` replica calls it a few times a
--    second, and only one fold runs at a time across replicas (an advisory lock; the others skip).
--    Readers: a key may have a total row and pending rows at once, so the rollup of a key is the SUM of its rows.
--    Every report query sums rollup rows anyway (reports/postgres/*.sql), so it reads committed calls immediately,
--    folded or not; a query that needs one row per key (month_close_rows.sql) groups by the key itself, and the
--    month close (PostgresReportStore.write) folds first, inside its own transaction, so it copies one row per key.
-- 2. The price foreign keys of `call` go. Safe because: the writer sets official_price_id / holysheep_price_id only
--    from the price book it read from `price` (PriceBook rows carry their id), price rows are only ever added (`prices
--    set` / `prices import` insert rows; nothing in the program updates or deletes one), and the guard below keeps
--    the one thing the keys gave beyond that: a price row that recorded calls name cannot be deleted, renumbered or
--    truncated by hand. (The guard scans `call` for such a delete; the program never deletes prices.)
--
-- To rebuild the rollup by hand (0003's note): TRUNCATE call_rollup, then 0003's backfill with 0004's sums; the
-- rebuilt rows are totals (pending defaults to 0).

ALTER TABLE call_rollup ADD COLUMN pending integer NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));
ALTER TABLE call_rollup DROP CONSTRAINT call_rollup_pkey;
CREATE UNIQUE INDEX call_rollup_total ON call_rollup (day, model, provider, provider_kind, team, key_id, tags,
    price_status, official_price_id, holysheep_price_id) WHERE pending = 0;

-- 0003/0004's correction trigger, insert-only: a deleted call adds a pending row of minus its sums, an updated call
-- that and a row of its new sums. The fold drops totals that reach zero calls, as the old trigger did.
CREATE OR REPLACE FUNCTION call_rollup_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_rollup (day, month, model, provider, provider_kind, team, key_id, tags, price_status,
                             official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls,
                             prompt_tokens, cached_prompt_tokens, completion_tokens, latency_us,
                             cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
                             audio_completion_tokens, pending)
    VALUES (floor(OLD.started_at_us / 86400000000.0)::bigint,
            OLD.month, coalesce(OLD.model, ''), coalesce(OLD.provider, ''), coalesce(OLD.provider_kind, ''),
            coalesce(OLD.team, ''), coalesce(OLD.key_id, 0), coalesce(OLD.tags, ''), OLD.price_status,
            coalesce(OLD.official_price_id, 0), coalesce(OLD.holysheep_price_id, 0),
            -1, -(OLD.status <> 'ok')::integer, -OLD.fallback_used, -coalesce(OLD.prompt_tokens, 0),
            -coalesce(OLD.cached_prompt_tokens, 0), -coalesce(OLD.completion_tokens, 0), -OLD.latency_us,
            -coalesce(OLD.cache_write_5m_tokens, 0), -coalesce(OLD.cache_write_1h_tokens, 0),
            -coalesce(OLD.audio_prompt_tokens, 0), -coalesce(OLD.audio_completion_tokens, 0), 1);
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO call_rollup (day, month, model, provider, provider_kind, team, key_id, tags, price_status,
                                 official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls,
                                 prompt_tokens, cached_prompt_tokens, completion_tokens, latency_us,
                                 cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
                                 audio_completion_tokens, pending)
        VALUES (floor(NEW.started_at_us / 86400000000.0)::bigint,
                NEW.month, coalesce(NEW.model, ''), coalesce(NEW.provider, ''), coalesce(NEW.provider_kind, ''),
                coalesce(NEW.team, ''), coalesce(NEW.key_id, 0), coalesce(NEW.tags, ''), NEW.price_status,
                coalesce(NEW.official_price_id, 0), coalesce(NEW.holysheep_price_id, 0),
                1, (NEW.status <> 'ok')::integer, NEW.fallback_used, coalesce(NEW.prompt_tokens, 0),
                coalesce(NEW.cached_prompt_tokens, 0), coalesce(NEW.completion_tokens, 0), NEW.latency_us,
                coalesce(NEW.cache_write_5m_tokens, 0), coalesce(NEW.cache_write_1h_tokens, 0),
                coalesce(NEW.audio_prompt_tokens, 0), coalesce(NEW.audio_completion_tokens, 0), 1);
    END IF;
    RETURN NULL;
END;
$$;

-- Folds every pending row this transaction sees into the totals, in one statement: the pending rows are deleted
-- and their sums added to (or inserted as) the keys' total rows, so any snapshot sees each call's sums exactly once,
-- before or after the fold. Pending rows committed later stay for the next fold. Returns the number of pending rows
-- folded, or -1 when another fold holds the lock (advisory lock "hsl-fold"; the month close holds it too).
CREATE FUNCTION call_rollup_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    folded bigint;
    emptied bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7526478344514137188) THEN
        RETURN -1;
    END IF;
    WITH moved AS (
        DELETE FROM call_rollup WHERE pending = 1
        RETURNING day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                  holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, cached_prompt_tokens,
                  completion_tokens, latency_us, cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
                  audio_completion_tokens
    ), summed AS (
        SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
               holysheep_price_id, sum(calls) AS calls, sum(failed_calls) AS failed_calls,
               sum(fallback_calls) AS fallback_calls, sum(prompt_tokens) AS prompt_tokens,
               sum(cached_prompt_tokens) AS cached_prompt_tokens, sum(completion_tokens) AS completion_tokens,
               sum(latency_us) AS latency_us, sum(cache_write_5m_tokens) AS cache_write_5m_tokens,
               sum(cache_write_1h_tokens) AS cache_write_1h_tokens, sum(audio_prompt_tokens) AS audio_prompt_tokens,
               sum(audio_completion_tokens) AS audio_completion_tokens
        FROM moved
        GROUP BY day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                 holysheep_price_id
    ), upserted AS (
        INSERT INTO call_rollup (day, month, model, provider, provider_kind, team, key_id, tags, price_status,
                                 official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls,
                                 prompt_tokens, cached_prompt_tokens, completion_tokens, latency_us,
                                 cache_write_5m_tokens, cache_write_1h_tokens, audio_prompt_tokens,
                                 audio_completion_tokens)
        SELECT * FROM summed
        ON CONFLICT (day, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                     holysheep_price_id) WHERE pending = 0 DO UPDATE SET
            calls = call_rollup.calls + excluded.calls,
            failed_calls = call_rollup.failed_calls + excluded.failed_calls,
            fallback_calls = call_rollup.fallback_calls + excluded.fallback_calls,
            prompt_tokens = call_rollup.prompt_tokens + excluded.prompt_tokens,
            cached_prompt_tokens = call_rollup.cached_prompt_tokens + excluded.cached_prompt_tokens,
            completion_tokens = call_rollup.completion_tokens + excluded.completion_tokens,
            latency_us = call_rollup.latency_us + excluded.latency_us,
            cache_write_5m_tokens = call_rollup.cache_write_5m_tokens + excluded.cache_write_5m_tokens,
            cache_write_1h_tokens = call_rollup.cache_write_1h_tokens + excluded.cache_write_1h_tokens,
            audio_prompt_tokens = call_rollup.audio_prompt_tokens + excluded.audio_prompt_tokens,
            audio_completion_tokens = call_rollup.audio_completion_tokens + excluded.audio_completion_tokens
        RETURNING calls
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM upserted WHERE calls = 0) INTO folded, emptied;
    IF emptied > 0 THEN
        DELETE FROM call_rollup WHERE pending = 0 AND calls = 0;
    END IF;
    RETURN folded;
END;
$$;

-- Fold what is pending now (rows recorded before this migration are all totals already).
SELECT call_rollup_fold();

ALTER TABLE call DROP CONSTRAINT call_official_price_id_fkey;
ALTER TABLE call DROP CONSTRAINT call_holysheep_price_id_fkey;

-- What the dropped keys refused: deleting, renumbering or truncating a price row that recorded calls name.
CREATE FUNCTION price_in_use_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT 1 FROM call) THEN
            RAISE EXCEPTION 'price rows are named by recorded calls; not truncated' USING ERRCODE = '23503';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM call WHERE official_price_id = OLD.id OR holysheep_price_id = OLD.id) THEN
        RAISE EXCEPTION 'price row % is named by recorded calls', OLD.id USING ERRCODE = '23503';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER price_in_use_before_change BEFORE DELETE OR UPDATE OF id ON price
    FOR EACH ROW EXECUTE FUNCTION price_in_use_guard();
CREATE TRIGGER price_in_use_before_truncate BEFORE TRUNCATE ON price
    FOR EACH STATEMENT EXECUTE FUNCTION price_in_use_guard();
