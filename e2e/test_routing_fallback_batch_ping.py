"""End-to-end routing: the built binary against a fault-injecting stub upstream.

Paths under /down/ always answer 500 (a provider that is down); everything else is the normal stub. The primary's
base_url points at /down/v1 to stage an outage, so the official fallback serves and the row is priced at the
official list."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from proxy_stub_upstream import StubUpstream, _Handler, free_port, wait_until_listening  # noqa: E402

BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]

# Official gpt-4.1 per MTok: 2000000 input, 500000 cached, 8000000 output micro-USD. Usage 11 prompt (3 cached), 7 out.
OFFICIAL_CHAT = 8 * 2_000_000 + 3 * 500_000 + 7 * 8_000_000


class _FaultHandler(_Handler):
    def do_POST(self):
        if self.path.startswith("/down/"):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.server.requests.append((self.path, self.headers.get("Authorization"), body))
            self._send(500, json.dumps({"error": {"message": "down", "type": "server_error", "param": None,
                                                  "code": "down"}}))
            return
        super().do_POST()


def FaultStub():
    return StubUpstream(_FaultHandler)


def _config(tmp_path, port, primary_down):
    primary = f"http://127.0.0.1:{port}/down/v1" if primary_down else f"http://127.0.0.1:{port}/v1"
    path = tmp_path / ("down.ini" if primary_down else "up.ini")
    path.write_text(
        f"[provider holysheep]\nbase_url = {primary}\nkind = holysheep\ntimeout_seconds = 5\n\n"
        f"[provider official]\nbase_url = http://127.0.0.1:{port}/v1\nkind = official\ntimeout_seconds = 5\n\n"
        "[retry]\ninitial_backoff = 10ms\nmax_backoff = 20ms\n")
    return path


ENV = dict(os.environ, HOLYSHEEP_API_KEY="hs-secret", OFFICIAL_API_KEY="official-secret")


def _migrated(tmp_path):
    db = tmp_path / "ledger.sqlite"
    subprocess.run([BIN, "migrate", "--db", str(db)], check=True, capture_output=True)
    return db


def _rows(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM call ORDER BY id").fetchall()
    finally:
        conn.close()


def test_primary_500_falls_back_to_official_and_is_priced_there(tmp_path):
    db = _migrated(tmp_path)
    out = subprocess.run([BIN, "keys", "create", "--name", "e2e", "--team", "atlas", "--db", str(db)],
                         capture_output=True, text=True, check=True)
    key = re.search(r"hsl-[A-Za-z0-9_\-]+", out.stdout).group(0)
    with FaultStub() as stub:
        config = _config(tmp_path, stub.port, primary_down=True)
        port = free_port()
        proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--config", str(config), "--db", str(db)],
                                env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_listening(base)
            request = urllib.request.Request(
                base + "/v1/chat/completions", method="POST",
                data=json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}).encode(),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
                assert response.headers["x-ledger-provider"] == "official"
                assert json.loads(response.read())["choices"][0]["message"]["content"] == "Hello!"
            health = json.loads(urllib.request.urlopen(base + "/healthz", timeout=5).read())
            assert {p["name"]: p["circuit"] for p in health["providers"]} == {"holysheep": "closed",
                                                                             "official": "closed"}
            metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
            assert re.search(r'ledger_circuit_consecutive_failures\{provider="holysheep"\} 3(\.0)?\b', metrics), metrics
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        paths = [r[0] for r in stub.requests]
        assert paths == ["/down/v1/chat/completions"] * 3 + ["/v1/chat/completions"]
        assert [r[1] for r in stub.requests] == ["Bearer hs-secret"] * 3 + ["Bearer official-secret"]
    [row] = _rows(db)
    assert row["status"] == "ok"
    assert row["fallback_used"] == 1
    assert row["attempts"] == 4
    assert row["provider"] == "official"
    assert row["provider_kind"] == "official"
    assert row["requested_model"] == "gpt-4.1" and row["model"] == "gpt-4.1"
    assert row["cost_official_pusd"] == OFFICIAL_CHAT
    assert row["cost_paid_pusd"] == row["cost_official_pusd"]
    assert row["queue_wait_us"] is not None and row["inflight_at_admission"] == 0


def test_batch_reports_a_malformed_line_by_number_and_keeps_going(tmp_path):
    db = _migrated(tmp_path)
    with FaultStub() as stub:
        config = _config(tmp_path, stub.port, primary_down=False)
        jobs = tmp_path / "jobs.jsonl"
        jobs.write_text(
            json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": "one"}]}) + "\n"
            + "{not json\n"
            + json.dumps({"custom_id": "three", "model": "auto", "task_type": "code",
                          "messages": [{"role": "user", "content": "three"}]}) + "\n")
        results = tmp_path / "results.jsonl"
        run = subprocess.run([BIN, "batch", str(jobs), "--output", str(results), "--concurrency", "2",
                              "--config", str(config), "--db", str(db)],
                             env=ENV, capture_output=True, text=True, timeout=60)
        assert run.returncode != 0, run.stderr
        assert "line 2" in run.stderr
        sent = [json.loads(r[2])["model"] for r in stub.requests]
        assert sorted(sent) == ["deepseek-v3.2", "gpt-4.1"]
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3]
    assert [line["status"] for line in lines] == ["ok", "error", "ok"]
    assert "line 2" in lines[1]["error"]["message"]
    assert lines[2]["custom_id"] == "three"
    assert lines[2]["requested_model"] == "auto" and lines[2]["model"] == "deepseek-v3.2"
    assert lines[0]["response"]["choices"][0]["message"]["content"] == "Hello!"
    rows = _rows(db)
    assert len(rows) == 2
    assert all(r["tags"] == "source=batch" and r["status"] == "ok" for r in rows)
    assert {r["id"] for r in rows} == {lines[0]["call_id"], lines[2]["call_id"]}
    assert sorted(r["model"] for r in rows) == ["deepseek-v3.2", "gpt-4.1"]


def test_ping_exit_codes(tmp_path):
    with FaultStub() as stub:
        up = _config(tmp_path, stub.port, primary_down=False)
        down = _config(tmp_path, stub.port, primary_down=True)
        ok = subprocess.run([BIN, "ping", "--config", str(up)], env=ENV, capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert re.search(r"^holysheep  gpt-4\.1  ok  [0-9.]+ ms  \"Hello!\"$", ok.stdout, re.M), ok.stdout
        assert re.search(r"^official  gpt-4\.1  ok", ok.stdout, re.M)

        failed = subprocess.run([BIN, "ping", "--config", str(down)], env=ENV, capture_output=True, text=True,
                                timeout=30)
        assert failed.returncode != 0
        assert re.search(r"^holysheep  gpt-4\.1  FAILED  .*answered 500", failed.stdout, re.M), failed.stdout

        only = subprocess.run([BIN, "ping", "--config", str(down), "--provider", "official", "--model", "gpt-4o"],
                              env=ENV, capture_output=True, text=True, timeout=30)
        assert only.returncode == 0, only.stdout + only.stderr
        assert only.stdout.startswith("official  gpt-4o  ok")

        unknown = subprocess.run([BIN, "ping", "--config", str(up), "--provider", "nope"], env=ENV,
                                 capture_output=True, text=True, timeout=30)
        assert unknown.returncode != 0
        assert "configured: holysheep, official" in unknown.stderr

        no_key = subprocess.run([BIN, "ping", "--config", str(up), "--provider", "official"],
                                env={k: v for k, v in ENV.items() if k != "OFFICIAL_API_KEY"},
                                capture_output=True, text=True, timeout=30)
        assert no_key.returncode != 0
        assert "OFFICIAL_API_KEY" in no_key.stdout
