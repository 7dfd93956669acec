"""End-to-end: Anthropic Messages (the official `anthropic` SDK) and the OpenAI Responses API (the `openai` SDK's
`client.responses.create`) through the built `holysheep-ledger serve`, streamed and not; every row's tokens and
three costs checked exactly with sqlite3. Then each seed model's fallback reaching its own vendor's stub under its
vendor's model name and auth."""
import os
import re
import signal
import sqlite3
import subprocess
import sys

import anthropic
import openai
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from proxy_stub_upstream import StubUpstream, free_port, wait_until_listening  # noqa: E402

BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]


def _key(db):
    out = subprocess.run([BIN, "keys", "create", "--name", "claude-app", "--team", "atlas", "--db", str(db)],
                         capture_output=True, text=True, check=True)
    return re.search(r"hsl-[A-Za-z0-9_\-]+", out.stdout).group(0)


def _rows(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM call ORDER BY id").fetchall()
    finally:
        conn.close()


class _Serve:
    def __init__(self, tmp_path, config_text, env):
        self.db = tmp_path / "ledger.sqlite"
        subprocess.run([BIN, "migrate", "--db", str(self.db)], check=True, capture_output=True)
        self.key = _key(self.db)
        config = tmp_path / "proxy.ini"
        config.write_text(config_text)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        self.proc = subprocess.Popen(
            [BIN, "serve", "--port", str(self.port), "--config", str(config), "--db", str(self.db)],
            env=dict(clean, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until_listening(self.base)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)


@pytest.fixture()
def serve(tmp_path):
    with StubUpstream() as stub:
        proxy = _Serve(tmp_path, f"[provider holysheep]\nbase_url = http://127.0.0.1:{stub.port}/v1\ntimeout_seconds = 5\n",
                       {"HOLYSHEEP_API_KEY": "upstream-secret"})
        try:
            yield proxy, stub
        finally:
            proxy.stop()


# Shipped prices, micro-USD per MTok. claude-sonnet-4.5 official: 3.00 input, 0.30 cache read, 3.75 5m write,
# 6.00 1h write, 15.00 output; HolySheep = official x 0.16 on every dimension.
CLAUDE_OFFICIAL = dict(input=3_000_000, read=300_000, w5m=3_750_000, w1h=6_000_000, output=15_000_000)
CLAUDE_HS = {k: v * 16 // 100 for k, v in CLAUDE_OFFICIAL.items()}
GPT41_OFFICIAL = dict(input=2_000_000, read=500_000, output=8_000_000)
GPT41_HS = {k: v * 16 // 100 for k, v in GPT41_OFFICIAL.items()}


def claude_cost(p):
    # Anthropic usage of the stub: input 25 (without cache), reads 400, writes 40 (5m) + 60 (1h), output 15.
    return 25 * p["input"] + 400 * p["read"] + 40 * p["w5m"] + 60 * p["w1h"] + 15 * p["output"]


def responses_cost(p):
    # Responses usage: input 328 of which 128 cached, output 52 (20 reasoning inside).
    return 200 * p["input"] + 128 * p["read"] + 52 * p["output"]


def chat_cost(p):
    # Chat usage: prompt 11 of which 3 cached, completion 7.
    return 8 * p["input"] + 3 * p["read"] + 7 * p["output"]


def _assert_claude_row(row, paid):
    assert (row["prompt_tokens"], row["cached_prompt_tokens"], row["completion_tokens"]) == (525, 400, 15)
    assert (row["cache_write_5m_tokens"], row["cache_write_1h_tokens"], row["reasoning_tokens"]) == (40, 60, 0)
    assert row["usage_source"] == "upstream" and row["price_status"] == "priced"
    assert row["cost_official_pusd"] == claude_cost(CLAUDE_OFFICIAL) == 930_000_000
    assert row["cost_holysheep_pusd"] == claude_cost(CLAUDE_HS) == 148_800_000
    assert row["cost_paid_pusd"] == paid


def _assert_responses_row(row):
    assert (row["prompt_tokens"], row["cached_prompt_tokens"], row["completion_tokens"]) == (328, 128, 52)
    assert row["reasoning_tokens"] == 20 and row["usage_source"] == "upstream" and row["price_status"] == "priced"
    assert row["cost_official_pusd"] == responses_cost(GPT41_OFFICIAL) == 880_000_000
    assert row["cost_holysheep_pusd"] == responses_cost(GPT41_HS) == 140_800_000
    assert row["cost_paid_pusd"] == row["cost_holysheep_pusd"]


def test_anthropic_sdk_messages_streamed_and_not_with_cache_usage(serve):
    proxy, stub = serve
    client = anthropic.Anthropic(base_url=proxy.base, api_key=proxy.key, max_retries=0)

    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4.5", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    assert raw.headers["x-ledger-provider"] == "holysheep"
    message = raw.parse()
    assert message.content[0].text == "Hello!"
    assert message.usage.cache_read_input_tokens == 400
    assert message.usage.cache_creation.ephemeral_1h_input_tokens == 60

    with client.messages.stream(model="claude-sonnet-4.5", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello!"
    assert final.usage.output_tokens == 15 and final.usage.cache_read_input_tokens == 400

    # An Authorization: Bearer ledger key works too (Claude Code's ANTHROPIC_AUTH_TOKEN).
    bearer = anthropic.Anthropic(base_url=proxy.base, auth_token=proxy.key, max_retries=0)
    assert bearer.messages.count_tokens(model="claude-sonnet-4.5",
                                        messages=[{"role": "user", "content": "hi"}]).input_tokens == 25

    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(model="claude-sonnet-4.5", max_tokens=64, messages="not a list")
    assert refused.value.body["type"] == "error" and refused.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=proxy.base, api_key="hsl-nope", max_retries=0).messages.create(
            model="claude-sonnet-4.5", max_tokens=64, messages=[{"role": "user", "content": "hi"}])

    # The Anthropic SDK's model list, from the price book in Anthropic's shape.
    assert "claude-sonnet-4.5" in [m.id for m in client.models.list()]

    proxy.stop()
    rows = _rows(proxy.db)
    assert [r["endpoint"] for r in rows] == ["/v1/messages", "/v1/messages", "/v1/messages/count_tokens",
                                             "/v1/messages", "/v1/messages", "/v1/models"]
    whole, streamed, counted, bad, unauthorised, models = rows
    assert models["status"] == "ok" and models["cost_paid_pusd"] is None
    for row, is_stream in ((whole, 0), (streamed, 1)):
        assert row["status"] == "ok" and row["stream"] == is_stream and row["model"] == "claude-sonnet-4.5"
        assert row["provider"] == "holysheep" and row["team"] == "atlas"
        _assert_claude_row(row, paid=claude_cost(CLAUDE_HS))
    assert counted["status"] == "ok" and counted["usage_source"] == "missing" and counted["model"] is None
    assert counted["cost_paid_pusd"] is None
    for row, status in ((bad, 400), (unauthorised, 401)):
        assert row["status"] == "client_error" and row["http_status"] == status and row["cost_paid_pusd"] is None
    sent = [h for (path, _, _), h in zip(stub.requests, stub.headers) if path == "/v1/messages"]
    assert sent[0]["anthropic-beta"] == "prompt-caching-2024-07-31"
    # The SDK's own anthropic-version is forwarded as sent.
    version = client.default_headers["anthropic-version"]
    assert [(h.get("anthropic-version"), h.get("authorization")) for h in sent] == [
        (version, "Bearer upstream-secret")] * 2


def test_openai_sdk_responses_streamed_and_not(serve):
    proxy, stub = serve
    client = openai.OpenAI(base_url=proxy.base + "/v1", api_key=proxy.key, max_retries=0)

    response = client.responses.create(model="gpt-4.1", input="hi")
    assert response.output_text == "Hello!"
    assert response.usage.input_tokens_details.cached_tokens == 128

    events = list(client.responses.create(model="gpt-4.1", input=[{"role": "user", "content": "hi"}], stream=True))
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage.output_tokens_details.reasoning_tokens == 20
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hello!"

    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="gpt-4.1", input=None)
    assert refused.value.body["code"] == "missing_required_parameter"

    proxy.stop()
    rows = _rows(proxy.db)
    assert [r["endpoint"] for r in rows] == ["/v1/responses"] * 3
    for row, is_stream in zip(rows[:2], (0, 1)):
        assert row["status"] == "ok" and row["stream"] == is_stream and row["model"] == "gpt-4.1"
        _assert_responses_row(row)
    assert rows[2]["status"] == "client_error" and rows[2]["cost_paid_pusd"] is None


def test_each_seed_model_falls_back_to_its_own_vendor(tmp_path):
    with StubUpstream() as openai_stub, StubUpstream() as anthropic_stub, StubUpstream() as gemini_stub, \
            StubUpstream() as deepseek_stub:
        dead = free_port()  # the primary is down: nothing listens there
        config = (
            f"[provider holysheep]\nbase_url = http://127.0.0.1:{dead}/v1\ntimeout_seconds = 5\n\n"
            f"[provider official]\nbase_url = http://127.0.0.1:{openai_stub.port}/v1\n\n"
            f"[provider anthropic]\nbase_url = http://127.0.0.1:{anthropic_stub.port}/v1\n\n"
            f"[provider gemini]\nbase_url = http://127.0.0.1:{gemini_stub.port}/v1\n\n"
            f"[provider deepseek]\nbase_url = http://127.0.0.1:{deepseek_stub.port}/v1\n\n"
            "[retry]\ninitial_backoff = 10ms\nmax_backoff = 20ms\n")
        proxy = _Serve(tmp_path, config, {
            "HOLYSHEEP_API_KEY": "hs-secret", "OPENAI_API_KEY": "openai-secret",
            "ANTHROPIC_API_KEY": "anthropic-secret", "GEMINI_API_KEY": "gemini-secret",
            "DEEPSEEK_API_KEY": "deepseek-secret"})
        try:
            chat = openai.OpenAI(base_url=proxy.base + "/v1", api_key=proxy.key, max_retries=0)
            claude = anthropic.Anthropic(base_url=proxy.base, api_key=proxy.key, max_retries=0)
            for model in ("gpt-4.1", "gemini-2.5-flash", "deepseek-v3.2"):
                reply = chat.chat.completions.with_raw_response.create(
                    model=model, messages=[{"role": "user", "content": "hi"}])
                assert reply.parse().choices[0].message.content == "Hello!"
            message = claude.messages.with_raw_response.create(
                model="claude-sonnet-4.5", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
            assert message.headers["x-ledger-provider"] == "anthropic"
            assert message.headers["x-ledger-upstream-model"] == "claude-sonnet-4-5"
        finally:
            proxy.stop()

        def only(stub):
            assert len(stub.requests) == 1, stub.requests
            (path, auth, body), headers = stub.requests[0], stub.headers[0]
            import json
            return path, auth, json.loads(body)["model"], headers

        assert only(openai_stub)[:3] == ("/v1/chat/completions", "Bearer openai-secret", "gpt-4.1")
        assert only(gemini_stub)[:3] == ("/v1/chat/completions", "Bearer gemini-secret", "gemini-2.5-flash")
        assert only(deepseek_stub)[:3] == ("/v1/chat/completions", "Bearer deepseek-secret", "deepseek-chat")
        path, auth, model, headers = only(anthropic_stub)
        assert (path, auth, model) == ("/v1/messages", None, "claude-sonnet-4-5")
        assert headers["x-api-key"] == "anthropic-secret"
        assert headers["anthropic-version"] == claude.default_headers["anthropic-version"]

        rows = _rows(proxy.db)
        assert [(r["model"], r["provider"], r["provider_kind"], r["fallback_used"], r["status"]) for r in rows] == [
            ("gpt-4.1", "official", "official", 1, "ok"),
            ("gemini-2.5-flash", "gemini", "official", 1, "ok"),
            ("deepseek-v3.2", "deepseek", "official", 1, "ok"),
            ("claude-sonnet-4.5", "anthropic", "official", 1, "ok"),
        ]
        # The model priced, and the vendor's own name for it that was sent upstream.
        assert [r["upstream_model"] for r in rows] == ["gpt-4.1", "gemini-2.5-flash", "deepseek-chat",
                                                       "claude-sonnet-4-5"]
        official = {
            "gpt-4.1": GPT41_OFFICIAL,
            "gemini-2.5-flash": dict(input=300_000, read=75_000, output=2_500_000),
            "deepseek-v3.2": dict(input=280_000, read=28_000, output=420_000),
        }
        for row in rows[:3]:
            prices = official[row["model"]]
            assert (row["prompt_tokens"], row["cached_prompt_tokens"], row["completion_tokens"]) == (11, 3, 7)
            assert row["cost_official_pusd"] == chat_cost(prices)
            assert row["cost_paid_pusd"] == row["cost_official_pusd"]
            assert row["cost_holysheep_pusd"] == chat_cost({k: v * 16 // 100 for k, v in prices.items()})
        _assert_claude_row(rows[3], paid=claude_cost(CLAUDE_OFFICIAL))

        # `ping` asks each vendor in its own dialect, with its own auth and its own model name.
        ping = subprocess.run([BIN, "ping", "--config", str(tmp_path / "proxy.ini")], capture_output=True, text=True,
                              timeout=60, env=dict({k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
                                                   HOLYSHEEP_API_KEY="hs-secret", OPENAI_API_KEY="openai-secret",
                                                   ANTHROPIC_API_KEY="anthropic-secret", GEMINI_API_KEY="gemini-secret",
                                                   DEEPSEEK_API_KEY="deepseek-secret"))
        assert ping.returncode != 0  # the primary is down
        lines = ping.stdout.splitlines()
        assert lines[0].startswith("holysheep  gpt-4.1  FAILED")
        assert [line.split("  ")[:3] for line in lines[1:]] == [
            ["official", "gpt-4.1", "ok"], ["anthropic", "claude-sonnet-4.5", "ok"],
            ["gemini", "gemini-2.5-flash", "ok"], ["deepseek", "deepseek-v3.2", "ok"]]
        assert anthropic_stub.requests[-1][0] == "/v1/messages"
        assert anthropic_stub.headers[-1]["x-api-key"] == "anthropic-secret"
        import json
        assert json.loads(deepseek_stub.requests[-1][2])["model"] == "deepseek-chat"
