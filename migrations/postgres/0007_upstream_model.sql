-- The model id sent upstream, when it differs from the model the call is priced as: a fallback vendor may know the
-- model under its own name (deepseek-v3.2 is `deepseek-chat` at DeepSeek, claude-sonnet-4.5 is `claude-sonnet-4-5`
-- at Anthropic; `model_map` in the provider's config). NULL when the call never went upstream.
ALTER TABLE call ADD COLUMN upstream_model text;
