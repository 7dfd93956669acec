"""End-to-end: spend budgets through the built `holysheep-ledger serve` (issue 13, points 2-5).

64 concurrent openai-SDK clients share a 1.00 USD team budget with calls of ~0.026 USD each, against a stub
upstream on 127.0.0.1 and a local webhook receiver that fails its first POST:
- the team's recorded paid cost ends at most 1.00 USD and at least 1.00 USD minus one call;
- every refused call is a 429 `budget_exceeded` naming the budget and its reset, recorded as client_error, and
  never reached the upstream;
- each threshold (50%, 80%, 100%) is POSTed exactly once delivered, retried while the receiver fails, every attempt
  recorded; `budgets list` shows the alerts; `/metrics` has the gauges; `report` shows the budget's use;
- admitted calls carry `x-ledger-budget-remaining-usd`; an Anthropic Messages call is refused as rate_limit_error.

Needs the request pipeline to call the budgets' CallAdmission (issue 10). Every wait is on the condition itself.
"""
import concurrent.futures
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic
import openai

sys.path.insert(0, os.path.dirname(__file__))
from proxy_stub_upstream import free_port, wait_until_listening  # noqa: E402

BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]
MODEL = "budget-e2e"
LIMIT_PUSD = 1_000_000_000_000
# 50 prompt tokens x 0.01 USD/MTok + 1,000 completion tokens x 26 USD/MTok = 0.0260005 USD per call; the
# reservation (body bytes x 0.01 + 1,000 x 26) is within a few micro-USD of it.
CALL_PUSD = 50 * 10_000 + 1000 * 26_000_000


def wait_for(condition, seconds=30.0, what="condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class _Upstream(BaseHTTPRequestHandler):
    """Chat completions that use all of max_tokens: usage prompt 50, completion = max_tokens."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = json.loads(body)
        with self.server.lock:
            self.server.calls += 1
        if self.path.endswith("/messages"):
            out = {"id": "msg_e2e", "type": "message", "role": "assistant", "model": req.get("model"),
                   "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": 50, "output_tokens": req.get("max_tokens", 1)}}
        else:
            out = {"id": "chatcmpl-e2e", "object": "chat.completion", "created": 1, "model": req.get("model"),
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 50, "completion_tokens": req.get("max_tokens", 1),
                             "total_tokens": 50 + req.get("max_tokens", 1)}}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Webhook(BaseHTTPRequestHandler):
    """Answers 500 to the first POST, then 200; keeps (status, body) of every POST."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        with self.server.lock:
            status = 500 if not self.server.posts else 200
            self.server.posts.append((status, body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _server(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.calls = 0
    server.posts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _cli(db, *args):
    return subprocess.run([BIN, *args, "--db", str(db)], capture_output=True, text=True, check=True).stdout


def _key(db, name):
    out = subprocess.run([BIN, "keys", "create", "--name", name, "--team", "ml", "--db", str(db)],
                         capture_output=True, text=True, check=True)
    return re.search(r"hsl-[A-Za-z0-9_\-]+", out.stdout).group(0)


def test_sixty_four_clients_share_a_team_budget_exactly_with_alerts(tmp_path):
    upstream, hook = _server(_Upstream), _server(_Webhook)
    db = tmp_path / "ledger.sqlite"
    _cli(db, "migrate")
    _cli(db, "prices", "set", "--model", MODEL, "--input", "0.01", "--output", "26", "--from", "2020-01-01",
         "--source", "e2e", "--holysheep-input", "0.01", "--holysheep-cached-input", "0.01",
         "--holysheep-output", "26")
    keys = [_key(db, "a"), _key(db, "b")]
    out = _cli(db, "budgets", "set", "--team", "ml", "--limit-usd", "1.00", "--period", "month",
               "--alert-at", "50%,80%,100%", "--webhook", f"http://127.0.0.1:{hook.server_port}/hook")
    assert out.startswith("created budget 1: team ml, 1.00 USD per month, block")
    config = tmp_path / "proxy.ini"
    config.write_text(f"[provider holysheep]\nbase_url = http://127.0.0.1:{upstream.server_port}/v1\n"
                      "timeout_seconds = 30\n")
    port = free_port()
    env = dict(os.environ, HOLYSHEEP_API_KEY="upstream-secret")
    env.pop("OFFICIAL_API_KEY", None)
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--config", str(config), "--db", str(db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(base)
        remaining_headers = []
        refusals = []

        def client(n):
            c = openai.OpenAI(api_key=keys[n % 2], base_url=base + "/v1", max_retries=0, timeout=60)
            admitted = 0
            while admitted < 40:  # the budget holds 38 calls in all: a client that reaches 40 proves it leaked
                try:
                    raw = c.chat.completions.with_raw_response.create(
                        model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=1000)
                except openai.RateLimitError as error:
                    refusals.append(error)
                    return admitted
                raw.parse()
                remaining_headers.append(raw.headers.get("x-ledger-budget-remaining-usd"))
                admitted += 1
            return admitted

        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            admitted = sum(pool.map(client, range(64)))

        # Point 3: exact, and every refusal was refused before going upstream.
        with sqlite3.connect(db) as conn:
            paid = conn.execute("SELECT coalesce(sum(cost_paid_pusd), 0) FROM call WHERE team = 'ml' AND status = 'ok'").fetchone()[0]
            ok = conn.execute("SELECT count(*) FROM call WHERE status = 'ok'").fetchone()[0]
            refused = conn.execute("SELECT count(*) FROM call WHERE status = 'client_error'").fetchone()[0]
        assert paid <= LIMIT_PUSD
        assert paid >= LIMIT_PUSD - CALL_PUSD
        assert ok == admitted and paid == admitted * CALL_PUSD
        assert upstream.calls == admitted
        assert len(refusals) == 64 and refused == 64
        for error in refusals:
            assert error.status_code == 429
            assert error.code == "budget_exceeded"
            assert "budget 1 (team ml, month)" in error.message and "resets at" in error.message
        # Point 5: the header on admitted calls, never more than the limit.
        assert len(remaining_headers) == admitted and all(h is not None for h in remaining_headers)
        assert min(float(h) for h in remaining_headers) >= 0

        # An Anthropic Messages call under the same (full) budget: rate_limit_error, same message.
        a = anthropic.Anthropic(api_key=keys[0], base_url=base, max_retries=0)
        try:
            a.messages.create(model=MODEL, max_tokens=1000, messages=[{"role": "user", "content": "hi"}])
            raise AssertionError("the Messages call was admitted over the budget")
        except anthropic.RateLimitError as error:
            assert error.status_code == 429
            assert error.body["error"]["type"] == "rate_limit_error"
            assert "budget 1 (team ml, month)" in error.body["error"]["message"]
        assert upstream.calls == admitted

        # Point 4: each threshold delivered once; the first POST failed and was retried.
        def delivered():
            with hook.lock:
                return sorted(b["threshold"] for s, b in hook.posts if s == 200)
        wait_for(lambda: delivered() == ["100%", "50%", "80%"], what="three delivered alerts")
        with hook.lock:
            posts = list(hook.posts)
        # The receiver failed the first POST; that alert was retried (same body, later) and then delivered.
        # Alerts of different thresholds may interleave (they are sent concurrently).
        assert posts[0][0] == 500
        assert any(s == 200 and b == posts[0][1] for s, b in posts[1:])
        assert sorted(b["alert_id"] for s, b in posts if s == 200) == sorted({b["alert_id"] for _, b in posts})
        assert len({b["alert_id"] for _, b in posts}) == 3
        assert all(b["budget_id"] == 1 and b["scope"] == "team ml" and b["period"] == "month"
                   and b["limit_usd"] == "1.00" for _, b in posts)
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM budget_alert").fetchone()[0] == 3
            assert conn.execute("SELECT count(*) FROM budget_alert_attempt").fetchone()[0] == len(posts)
            assert conn.execute("SELECT count(*) FROM budget_alert WHERE delivered_at_us IS NOT NULL").fetchone()[0] == 3

        listed = _cli(db, "budgets", "list").splitlines()
        row = dict(zip(listed[0].split("\t"), listed[1].split("\t")))
        assert row["alerts_sent"] == "3" and "(delivered" in row["last_alert"]
        assert int(round(float(row["spent_usd"]) * 1e12)) == paid

        metrics = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
        assert re.search(r'ledger_budget_limit_musd\{[^}]*budget="1"[^}]*\} 1000000', metrics)
        assert re.search(r'ledger_budget_spent_musd\{[^}]*budget="1"[^}]*\} ' + str(paid // 1_000_000), metrics)
        assert 'ledger_budget_alerts_total' in metrics

        report = _cli(db, "report")
        assert "Budgets this period" in report and "team ml" in report
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        upstream.shutdown()
        hook.shutdown()


def test_budgets_cli_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path):
    """Point 6 and point 1's commands, with the built binary (no serve needed)."""
    db = tmp_path / "ledger.sqlite"
    _cli(db, "migrate")
    _key(db, "a")
    bad = [
        (["--team", "nope", "--limit-usd", "1", "--period", "day"], 'unknown team "nope"'),
        (["--key", "99", "--limit-usd", "1", "--period", "day"], "unknown key 99"),
        (["--tag", "project=x", "--limit-usd", "1", "--period", "day"], "unknown tag project=x"),
        (["--team", "ml", "--limit-usd", "-1", "--period", "day"], "--limit-usd wants a positive decimal"),
        (["--team", "ml", "--limit-usd", "abc", "--period", "day"], "--limit-usd wants a positive decimal"),
        (["--team", "ml", "--limit-usd", "1", "--period", "day", "--webhook", "ftp://x"], "--webhook must be an http"),
        (["--team", "ml", "--limit-usd", "1", "--period", "year"], "--period wants day, week or month"),
        (["--team", "ml", "--key", "1", "--limit-usd", "1", "--period", "day"], "exactly one of --team, --key or --tag"),
        (["--team", "ml", "--limit-usd", "1", "--period", "day", "--alert-at", "0%"], "--alert-at percentages"),
    ]
    for args, message in bad:
        result = subprocess.run([BIN, "budgets", "set", *args, "--db", str(db)], capture_output=True, text=True)
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)
    assert _cli(db, "budgets", "list").strip().splitlines()[1:] == []

    out = _cli(db, "budgets", "set", "--team", "ml", "--limit-usd", "500", "--period", "month", "--alert-at", "50%,80%")
    assert out.strip() == "created budget 1: team ml, 500.00 USD per month, block, alerts at 50%,80%"
    out = _cli(db, "budgets", "set", "--key", "1", "--limit-usd", "0.25", "--period", "day", "--action", "alert")
    assert out.splitlines()[0] == "created budget 2: key 1, 0.25 USD per day, alert"
    assert "also applies to some of these calls: budget 1 (team ml" in out
    out = _cli(db, "budgets", "set", "--team", "ml", "--limit-usd", "600", "--period", "month")
    assert out.startswith("changed budget 1: team ml, 600.00 USD per month, block, alerts at 50%,80%")
    listed = [line.split("\t") for line in _cli(db, "budgets", "list").strip().splitlines()]
    assert listed[0][:9] == ["id", "scope", "period", "action", "limit_usd", "spent_usd", "reserved_usd",
                             "remaining_usd", "resets_at"]
    assert [row[:6] for row in listed[1:]] == [["1", "team ml", "month", "block", "600.00", "0.00"],
                                               ["2", "key 1", "day", "alert", "0.25", "0.00"]]
    assert _cli(db, "budgets", "remove", "2").strip() == "removed budget 2 (key 1, day)"
    result = subprocess.run([BIN, "budgets", "remove", "2", "--db", str(db)], capture_output=True, text=True)
    assert result.returncode != 0 and result.stderr.strip() == "Error: no budget 2 (see `budgets list`)"
    assert "Budgets this period" in _cli(db, "report")


def test_two_postgresql_replicas_share_a_team_budget_exactly(tmp_path):
    """Point 3 across replicas: two `serve` processes on one PostgreSQL ledger, 64 openai-SDK clients split between
    them, one 1.00 USD team budget set with `budgets set --db postgres://…`. The reservation is one statement in the
    shared ledger, so the team's recorded paid cost ends within 1.00 USD and at least 1.00 USD minus one call, and
    every refused call was refused before going upstream."""
    import test_postgres_scaleout as pg  # the throwaway cluster's helpers (its URL comes from the test command)

    upstream = _server(_Upstream)
    name = "e2e_budget_" + os.urandom(6).hex()
    pg.psql(pg.CLUSTER, f"CREATE DATABASE {name}")
    db = pg.CLUSTER.rsplit("/", 1)[0] + "/" + name
    procs = []
    try:
        _cli(db, "migrate")
        _cli(db, "prices", "set", "--model", MODEL, "--input", "0.01", "--output", "26", "--from", "2020-01-01",
             "--source", "e2e", "--holysheep-input", "0.01", "--holysheep-cached-input", "0.01",
             "--holysheep-output", "26")
        keys = [_key(db, "a"), _key(db, "b")]
        out = _cli(db, "budgets", "set", "--team", "ml", "--limit-usd", "1.00", "--period", "month",
                   "--alert-at", "50%")
        assert "budget 1: team ml, 1.00 USD per month, block, alerts at 50%" in out
        listed = _cli(db, "budgets", "list").splitlines()
        assert listed[1].split("\t")[:5] == ["1", "team ml", "month", "block", "1.00"]
        config = tmp_path / "proxy.ini"
        config.write_text(f"[provider holysheep]\nbase_url = http://127.0.0.1:{upstream.server_port}/v1\n"
                          "timeout_seconds = 30\n")
        env = dict(os.environ, HOLYSHEEP_API_KEY="upstream-secret")
        env.pop("OFFICIAL_API_KEY", None)
        bases = []
        for _ in range(2):
            port = free_port()
            procs.append(subprocess.Popen(
                [BIN, "serve", "--port", str(port), "--config", str(config), "--db", db],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            wait_until_listening(base)
        refusals = []

        def client(n):
            c = openai.OpenAI(api_key=keys[n % 2], base_url=bases[n % 2] + "/v1", max_retries=0, timeout=60)
            admitted = 0
            while admitted < 40:
                try:
                    c.chat.completions.create(
                        model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=1000)
                except openai.RateLimitError as error:
                    refusals.append(error)
                    return admitted
                admitted += 1
            return admitted

        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            admitted = sum(pool.map(client, range(64)))

        [[paid, ok, refused]] = pg.psql(
            db, "SELECT coalesce(sum(cost_paid_pusd) FILTER (WHERE status = 'ok'), 0), "
                "count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'client_error') FROM call")
        paid, ok, refused = int(paid), int(ok), int(refused)
        assert paid <= LIMIT_PUSD
        assert paid >= LIMIT_PUSD - CALL_PUSD
        assert ok == admitted and paid == admitted * CALL_PUSD
        assert upstream.calls == admitted
        assert len(refusals) == 64 and refused == 64
        assert all(e.status_code == 429 and e.code == "budget_exceeded" for e in refusals)
        listed = _cli(db, "budgets", "list").splitlines()
        row = dict(zip(listed[0].split("\t"), listed[1].split("\t")))
        assert int(round(float(row["spent_usd"]) * 1e12)) == paid
        # One alert for the 50% threshold across both replicas (deduplicated in the shared ledger).
        assert row["alerts_sent"] == "1" and row["last_alert"].startswith("50% at ")
        [[alerts]] = pg.psql(db, "SELECT count(*) FROM budget_alert")
        assert alerts == "1"
        report = _cli(db, "report")
        assert "Budgets this period" in report and "team ml" in report
    finally:
        for proc in procs:
            pg.stop(proc)
        upstream.shutdown()
        pg.psql(pg.CLUSTER, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
