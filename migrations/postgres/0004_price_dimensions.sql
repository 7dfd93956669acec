-- 0004_price_dimensions (PostgreSQL; as migrations/0004_price_dimensions.sql): prices as providers publish them, and
-- every billed kind of token on the call row. Never edit this file once it has shipped; add a new numbered file.
--
-- A price row gains, besides input / cached input / output (whole micro-USD per million tokens, NULL = not listed:
-- cache writes and audio input are then billed at the input rate, audio output at the output rate):
--   cache_write_input_musd_per_mtok      cache writes, 5-minute lifetime (Anthropic)
--   cache_write_1h_input_musd_per_mtok   cache writes, 1-hour lifetime (Anthropic)
--   input_audio_musd_per_mtok / output_audio_musd_per_mtok
-- and two conditions:
--   min_prompt_tokens  0 = every call; N = a long-context tier that prices the WHOLE call when its input
--                      (uncached + cache reads + cache writes + audio) exceeds N tokens, as Anthropic and Google bill
--   service_tier       '' = every tier; otherwise only calls whose reply reports that service_tier (priority, flex, ...)
-- PostgreSQL changes the table in place (SQLite rebuilds it); ids are kept, so recorded calls still name their rows.
ALTER TABLE price
    ADD COLUMN cache_write_input_musd_per_mtok bigint CHECK (cache_write_input_musd_per_mtok >= 0),
    ADD COLUMN cache_write_1h_input_musd_per_mtok bigint CHECK (cache_write_1h_input_musd_per_mtok >= 0),
    ADD COLUMN input_audio_musd_per_mtok bigint CHECK (input_audio_musd_per_mtok >= 0),
    ADD COLUMN output_audio_musd_per_mtok bigint CHECK (output_audio_musd_per_mtok >= 0),
    ADD COLUMN min_prompt_tokens bigint NOT NULL DEFAULT 0 CHECK (min_prompt_tokens >= 0),
    ADD COLUMN service_tier text NOT NULL DEFAULT '';
ALTER TABLE price DROP CONSTRAINT price_provider_kind_model_effective_from_us_key;
ALTER TABLE price ADD CONSTRAINT price_series_from
    UNIQUE (provider_kind, model, min_prompt_tokens, service_tier, effective_from_us);

-- The shipped rows gain the dimensions their vendors list (the same rows and sources as the SQLite file). Safe for
-- recorded calls: before this migration no call carried cache-write or audio tokens.
-- Source: Anthropic pricing page (https://www.anthropic.com/pricing#api) and prompt caching docs
-- (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#pricing), Claude Sonnet 4.5:
-- cache write 5m 3.75, cache write 1h 6.00 USD per MTok. HolySheep = official x 0.16.
UPDATE price SET cache_write_input_musd_per_mtok = 3750000, cache_write_1h_input_musd_per_mtok = 6000000,
                 source = source || '; cache writes 3.75 (5m) / 6.00 (1h): docs.anthropic.com prompt caching pricing'
WHERE provider_kind = 'official' AND model = 'claude-sonnet-4.5' AND effective_from_us = 0;
UPDATE price SET cache_write_input_musd_per_mtok = 600000, cache_write_1h_input_musd_per_mtok = 960000
WHERE provider_kind = 'holysheep' AND model = 'claude-sonnet-4.5' AND effective_from_us = 0;
-- Source: Google Gemini API pricing page (https://ai.google.dev/gemini-api/docs/pricing), Gemini 2.5 Flash:
-- audio input 1.00 USD per MTok (text/image/video 0.30).
UPDATE price SET input_audio_musd_per_mtok = 1000000,
                 source = 'Google Gemini API pricing page, Gemini 2.5 Flash (USD per 1M tokens: 0.30 text/image/video, 1.00 audio input / 0.075 cached / 2.50)'
WHERE provider_kind = 'official' AND model = 'gemini-2.5-flash' AND effective_from_us = 0;
UPDATE price SET input_audio_musd_per_mtok = 160000
WHERE provider_kind = 'holysheep' AND model = 'gemini-2.5-flash' AND effective_from_us = 0;

-- Inserted in the SQLite file's order, so both stores number them alike (13-16 after 0002's 12 rows).
INSERT INTO price (provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok, output_musd_per_mtok,
                   cache_write_input_musd_per_mtok, cache_write_1h_input_musd_per_mtok, min_prompt_tokens,
                   service_tier, currency, effective_from_us, source, created_at_us) VALUES
    -- Source: Anthropic pricing page (https://www.anthropic.com/pricing#api), Claude Sonnet 4.5 long context:
    -- prompts above 200K input tokens are billed entirely at 6.00 / 0.60 / 7.50 / 12.00 / 22.50 USD per MTok.
    ('official', 'claude-sonnet-4.5', 6000000, 600000, 22500000, 7500000, 12000000, 200000, '', 'USD', 0, 'Anthropic pricing page, Claude Sonnet 4.5 long context, prompts > 200K tokens (USD per 1M tokens: 6.00 / 0.60 cache read / 7.50 cache write 5m / 12.00 cache write 1h / 22.50)', 0),
    ('holysheep', 'claude-sonnet-4.5', 960000, 96000, 3600000, 1200000, 1920000, 200000, '', 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0),
    -- Source: OpenAI API pricing page, Priority processing (https://platform.openai.com/docs/pricing), gpt-4.1:
    -- 3.50 / 0.875 cached / 14.00 USD per MTok for calls whose reply reports service_tier "priority".
    ('official', 'gpt-4.1', 3500000, 875000, 14000000, NULL, NULL, 0, 'priority', 'USD', 0, 'OpenAI API pricing page, Priority processing, gpt-4.1 (USD per 1M tokens: 3.50 / 0.875 cached / 14.00)', 0),
    ('holysheep', 'gpt-4.1', 560000, 140000, 2240000, NULL, NULL, 0, 'priority', 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0);

-- Every billed kind of token on the call row (NULL when usage_source = 'missing'), the service tier the reply
-- reported, and which costs are missing and why (NULL when all three are recorded). price_status 'priced' = all
-- three costs set; 'unpriced' = at least one missing (missing_costs says which); known costs are still recorded.
ALTER TABLE call
    ADD COLUMN cache_write_5m_tokens bigint,
    ADD COLUMN cache_write_1h_tokens bigint,
    ADD COLUMN audio_prompt_tokens bigint,
    ADD COLUMN audio_completion_tokens bigint,
    ADD COLUMN service_tier text,
    ADD COLUMN missing_costs text;

-- Appended after latency_us: the writer's rollup statement (PostgresLedger) fills the columns in this order.
ALTER TABLE call_rollup
    ADD COLUMN cache_write_5m_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN audio_prompt_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN audio_completion_tokens bigint NOT NULL DEFAULT 0;

-- 0003's correction trigger with the new token sums. To rebuild the rollup by hand: DELETE FROM call_rollup, then
-- 0003's backfill with coalesce(sum(cache_write_5m_tokens), 0), coalesce(sum(cache_write_1h_tokens), 0),
-- coalesce(sum(audio_prompt_tokens), 0), coalesce(sum(audio_completion_tokens), 0) appended.
CREATE OR REPLACE FUNCTION call_rollup_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_rollup SET
        calls = calls - 1,
        failed_calls = failed_calls - (OLD.status <> 'ok')::integer,
        fallback_calls = fallback_calls - OLD.fallback_used,
        prompt_tokens = prompt_tokens - coalesce(OLD.prompt_tokens, 0),
        cached_prompt_tokens = cached_prompt_tokens - coalesce(OLD.cached_prompt_tokens, 0),
        completion_tokens = completion_tokens - coalesce(OLD.completion_tokens, 0),
        cache_write_5m_tokens = cache_write_5m_tokens - coalesce(OLD.cache_write_5m_tokens, 0),
        cache_write_1h_tokens = cache_write_1h_tokens - coalesce(OLD.cache_write_1h_tokens, 0),
        audio_prompt_tokens = audio_prompt_tokens - coalesce(OLD.audio_prompt_tokens, 0),
        audio_completion_tokens = audio_completion_tokens - coalesce(OLD.audio_completion_tokens, 0),
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
            coalesce(NEW.cached_prompt_tokens, 0), coalesce(NEW.completion_tokens, 0), NEW.latency_us,
            coalesce(NEW.cache_write_5m_tokens, 0), coalesce(NEW.cache_write_1h_tokens, 0),
            coalesce(NEW.audio_prompt_tokens, 0), coalesce(NEW.audio_completion_tokens, 0))
        ON CONFLICT (day, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                     holysheep_price_id) DO UPDATE SET
            calls = call_rollup.calls + 1,
            failed_calls = call_rollup.failed_calls + excluded.failed_calls,
            fallback_calls = call_rollup.fallback_calls + excluded.fallback_calls,
            prompt_tokens = call_rollup.prompt_tokens + excluded.prompt_tokens,
            cached_prompt_tokens = call_rollup.cached_prompt_tokens + excluded.cached_prompt_tokens,
            completion_tokens = call_rollup.completion_tokens + excluded.completion_tokens,
            cache_write_5m_tokens = call_rollup.cache_write_5m_tokens + excluded.cache_write_5m_tokens,
            cache_write_1h_tokens = call_rollup.cache_write_1h_tokens + excluded.cache_write_1h_tokens,
            audio_prompt_tokens = call_rollup.audio_prompt_tokens + excluded.audio_prompt_tokens,
            audio_completion_tokens = call_rollup.audio_completion_tokens + excluded.audio_completion_tokens,
            latency_us = call_rollup.latency_us + excluded.latency_us;
    END IF;
    RETURN NULL;
END;
$$;
