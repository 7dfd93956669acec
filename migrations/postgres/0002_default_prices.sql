-- 0002_default_prices (PostgreSQL; the same rows as migrations/0002_default_prices.sql): the price book the ledger
-- ships with, effective from 1970-01-01 so every call has a price.
-- Official list prices per million tokens, each with its source; HolySheep = official x 0.16 (the 84% saving of the
-- migration guide's ROI table), exact in micro-USD. Never edit once shipped: change prices with `prices set` or
-- `prices import`, which add rows effective from a later date.
INSERT INTO price (provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok, output_musd_per_mtok,
                   currency, effective_from_us, source, created_at_us) VALUES
    ('official', 'gpt-4.1', 2000000, 500000, 8000000, 'USD', 0, 'OpenAI API pricing page, gpt-4.1 (USD per 1M tokens: 2.00 / 0.50 cached / 8.00)', 0),
    ('official', 'claude-sonnet-4.5', 3000000, 300000, 15000000, 'USD', 0, 'Anthropic pricing page, Claude Sonnet 4.5 (USD per 1M tokens: 3.00 / 0.30 cache read / 15.00)', 0),
    ('official', 'gemini-2.5-flash', 300000, 75000, 2500000, 'USD', 0, 'Google Gemini API pricing page, Gemini 2.5 Flash (USD per 1M tokens: 0.30 / 0.075 cached / 2.50)', 0),
    ('official', 'deepseek-v3.2', 280000, 28000, 420000, 'USD', 0, 'DeepSeek API pricing page, deepseek-v3.2 (USD per 1M tokens: 0.28 / 0.028 cache hit / 0.42)', 0),
    ('official', 'text-embedding-3-small', 20000, 20000, 0, 'USD', 0, 'OpenAI API pricing page, text-embedding-3-small (USD 0.02 per 1M input tokens)', 0),
    ('official', 'text-embedding-3-large', 130000, 130000, 0, 'USD', 0, 'OpenAI API pricing page, text-embedding-3-large (USD 0.13 per 1M input tokens)', 0),
    ('holysheep', 'gpt-4.1', 320000, 80000, 1280000, 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0),
    ('holysheep', 'claude-sonnet-4.5', 480000, 48000, 2400000, 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0),
    ('holysheep', 'gemini-2.5-flash', 48000, 12000, 400000, 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0),
    ('holysheep', 'deepseek-v3.2', 44800, 4480, 67200, 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0),
    ('holysheep', 'text-embedding-3-small', 3200, 3200, 0, 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0),
    ('holysheep', 'text-embedding-3-large', 20800, 20800, 0, 'USD', 0, 'HolySheep = official x 0.16 (84% saving, migration guide ROI table)', 0);
