"""End-to-end: the built `holysheep-ledger serve` against a stub upstream, driven by the official openai SDK;
then every ledger row's tokens and costs are checked exactly with sqlite3."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request

import openai
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from proxy_stub_upstream import StubUpstream, free_port, wait_until_listening  # noqa: E402

BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]


def _create_key(db):
    """A client key from the ledger's own `keys create` (prints the hsl-… secret once)."""
    out = subprocess.run([BIN, "keys", "create", "--name", "e2e-app", "--team", "atlas", "--db", str(db)],
                         capture_output=True, text=True, check=True)
    match = re.search(r"hsl-[A-Za-z0-9_\-]+", out.stdout)
    assert match, out.stdout
    return match.group(0)


@pytest.fixture()
def proxy(tmp_path):
    db = tmp_path / "ledger.sqlite"
    subprocess.run([BIN, "migrate", "--db", str(db)], check=True, capture_output=True)
    key = _create_key(db)
    with StubUpstream() as stub:
        config = tmp_path / "proxy.ini"
        config.write_text(f"[provider holysheep]\nbase_url = http://127.0.0.1:{stub.port}/v1\ntimeout_seconds = 5\n")
        port = free_port()
        env = dict(os.environ, HOLYSHEEP_API_KEY="upstream-secret")
        env.pop("OFFICIAL_API_KEY", None)
        proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--config", str(config), "--db", str(db)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        wait_until_listening(base)
        client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
        try:
            yield client, db, stub, proc, base
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)


# HolySheep gpt-4.1 per MTok: 320000 input, 80000 cached, 1280000 output micro-USD; official: 2000000/500000/8000000.
# Chat usage 11 prompt (3 cached), 7 completion: cost = 8*in + 3*cached + 7*out pico-USD.
HS_CHAT = 8 * 320_000 + 3 * 80_000 + 7 * 1_280_000
OFFICIAL_CHAT = 8 * 2_000_000 + 3 * 500_000 + 7 * 8_000_000
HS_EMBED = 5 * 3_200
OFFICIAL_EMBED = 5 * 20_000


def test_openai_sdk_through_the_proxy_records_every_call_exactly(proxy):
    client, db, stub, proc, base = proxy

    chat = client.chat.completions.with_raw_response.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], extra_headers={"X-Ledger-Tags": "project=atlas,env=prod"})
    assert chat.headers["x-ledger-provider"] == "holysheep"
    assert int(chat.headers["x-latency-ms"]) >= 0
    parsed = chat.parse()
    assert parsed.choices[0].message.content == "Hello!"
    assert parsed.usage.prompt_tokens_details.cached_tokens == 3
    first_id = int(chat.headers["x-ledger-call-id"])

    pieces, usages = [], []
    for chunk in client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], stream=True):
        pieces += [c.delta.content or "" for c in chunk.choices]
        usages.append(chunk.usage)
    assert "".join(pieces) == "Hello!"
    assert all(u is None for u in usages), "usage chunk must be hidden when the client did not ask for it"

    usage_seen = None
    for chunk in client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}],
                                                stream=True, stream_options={"include_usage": True}):
        if chunk.usage:
            usage_seen = chunk.usage
    assert usage_seen.prompt_tokens == 11 and usage_seen.completion_tokens == 7

    emb = client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert emb.data[0].embedding == [0.25, -0.5]
    assert emb.usage.prompt_tokens == 5

    bad_key = openai.OpenAI(base_url=client.base_url, api_key="hsl-notakey-000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        bad_key.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert unauthorized.value.code == "invalid_api_key"

    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="gpt-4.1", messages=None)  # type: ignore[arg-type]
    assert bad.value.status_code == 400

    # The client key never went upstream; the provider key did; upstream always asked for usage on streams.
    assert {auth for _, auth, _ in stub.requests} == {"Bearer upstream-secret"}
    streamed = [json.loads(b) for p, _, b in stub.requests if b and json.loads(b).get("stream")]
    assert len(streamed) == 2 and all(r["stream_options"]["include_usage"] for r in streamed)

    health = json.load(urllib.request.urlopen(base + "/healthz", timeout=5))
    assert health["status"] == "ok" and health["ledger"] == "writable"
    metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    assert 'ledger_requests_total{endpoint="/v1/embeddings",model="text-embedding-3-small",provider="holysheep",status="ok"} 1' in metrics
    assert 'ledger_prompt_tokens_total{model="gpt-4.1",provider="holysheep"} 33' in metrics

    # SIGTERM: drains, flushes, exits 0.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0

    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM call ORDER BY id").fetchall()
    assert [r["id"] for r in rows] == list(range(first_id, first_id + 6))
    got = [(r["endpoint"], r["stream"], r["status"], r["http_status"], r["prompt_tokens"], r["cached_prompt_tokens"],
            r["completion_tokens"], r["reasoning_tokens"], r["usage_source"], r["price_status"],
            r["cost_paid_pusd"], r["cost_holysheep_pusd"], r["cost_official_pusd"]) for r in rows]
    chat_row = ("/v1/chat/completions", 0, "ok", 200, 11, 3, 7, 2, "upstream", "priced", HS_CHAT, HS_CHAT, OFFICIAL_CHAT)
    assert got == [
        chat_row,
        ("/v1/chat/completions", 1) + chat_row[2:],
        ("/v1/chat/completions", 1) + chat_row[2:],
        ("/v1/embeddings", 0, "ok", 200, 5, 0, 0, 0, "upstream", "priced", HS_EMBED, HS_EMBED, OFFICIAL_EMBED),
        ("/v1/chat/completions", 0, "client_error", 401, None, None, None, None, "missing", "no_usage", None, None, None),
        ("/v1/chat/completions", 0, "client_error", 400, None, None, None, None, "missing", "no_usage", None, None, None),
    ]
    assert rows[0]["tags"] == "project=atlas,env=prod"
    assert rows[0]["provider"] == "holysheep" and rows[0]["provider_kind"] == "holysheep"
    assert rows[0]["key_id"] is not None and rows[0]["team"] == "atlas"
    assert rows[4]["key_id"] is None
    assert rows[4]["error_type"] == "invalid_api_key"
