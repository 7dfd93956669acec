"""End-to-end: the built `holysheep-ledger serve` under process-level faults, against a stub upstream on 127.0.0.1.

- SIGTERM with 20 calls in flight: all answered, all recorded, exit 0.
- SIGKILL under load: every call the proxy answered is in the ledger.
- `prices set` from another process while serving: a new model is accepted and priced within a second.
Every wait is on the condition itself, with a bounded deadline.
"""
import concurrent.futures
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from proxy_stub_upstream import StubUpstream, _Handler, free_port, wait_until_listening  # noqa: E402

BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]
CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}


def wait_for(condition, seconds=20.0, what="condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


class _HeldHandler(_Handler):
    """Answers chat completions only once the test opens `server.gate`."""

    def do_POST(self):
        self.server.arrived.release()
        assert self.server.gate.wait(60)
        super().do_POST()


def _create_key(db):
    out = subprocess.run([BIN, "keys", "create", "--name", "faults", "--db", str(db)],
                         capture_output=True, text=True, check=True)
    return re.search(r"hsl-[A-Za-z0-9_\-]+", out.stdout).group(0)


def _start(tmp_path, stub, extra_config=""):
    db = tmp_path / "ledger.sqlite"
    subprocess.run([BIN, "migrate", "--db", str(db)], check=True, capture_output=True)
    key = _create_key(db)
    config = tmp_path / "proxy.ini"
    config.write_text(f"[provider holysheep]\nbase_url = http://127.0.0.1:{stub.port}/v1\ntimeout_seconds = 30\n"
                      + extra_config)
    port = free_port()
    env = dict(os.environ, HOLYSHEEP_API_KEY="upstream-secret")
    env.pop("OFFICIAL_API_KEY", None)
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--config", str(config), "--db", str(db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_listening(base)
    return proc, db, key, base, port


def _post(base, key, body=CHAT, timeout=60):
    request = urllib.request.Request(
        base + "/v1/chat/completions", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, int(response.headers["x-ledger-call-id"]), json.loads(response.read())


def _rows(db):
    with sqlite3.connect(db) as conn:
        return {row[0]: row[1:] for row in conn.execute("SELECT id, status, price_status, cost_paid_pusd FROM call")}


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_sigterm_lets_twenty_calls_in_flight_finish_and_records_them_all(tmp_path):
    stub = StubUpstream(_HeldHandler)
    stub.server.gate = threading.Event()
    stub.server.arrived = threading.Semaphore(0)
    with stub:
        proc, db, key, base, port = _start(tmp_path, stub)
        try:
            with concurrent.futures.ThreadPoolExecutor(20) as pool:
                calls = [pool.submit(_post, base, key) for _ in range(20)]
                # All 20 are in flight: each has reached the upstream, which holds them.
                for _ in range(20):
                    assert stub.server.arrived.acquire(timeout=30)
                proc.send_signal(signal.SIGTERM)
                # Shutdown has begun once the listener is closed; only then may the upstream answer.
                wait_for(lambda: not _accepts(port), what="the listener to close")
                stub.server.gate.set()
                results = [call.result(timeout=60) for call in calls]
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
        finally:
            stub.server.gate.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert all(status == 200 for status, _, _ in results)
    ids = {call_id for _, call_id, _ in results}
    assert len(ids) == 20
    rows = _rows(db)
    assert set(rows) == ids
    assert all(row[0] == "ok" and row[1] == "priced" and row[2] > 0 for row in rows.values())


def test_sigkill_under_load_loses_no_answered_call(tmp_path):
    with StubUpstream() as stub:
        proc, db, key, base, port = _start(tmp_path, stub)
        answered = []
        lock = threading.Lock()
        stop = threading.Event()

        def client():
            while not stop.is_set():
                try:
                    status, call_id, _ = _post(base, key, timeout=10)
                except (urllib.error.URLError, ConnectionError, OSError):
                    return
                assert status == 200
                with lock:
                    answered.append(call_id)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: len(answered) >= 300, seconds=60, what="300 answered calls")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    rows = _rows(db)
    missing = set(answered) - set(rows)
    assert not missing, f"{len(missing)} answered calls are not in the ledger"
    # The ledger may hold calls whose reply the kill cut off, never fewer than were answered.
    assert len(rows) >= len(answered) >= 300


def test_prices_set_while_serving_applies_within_a_second(tmp_path):
    with StubUpstream() as stub:
        proc, db, key, base, port = _start(tmp_path, stub)
        try:
            body = dict(CHAT, model="e2e-live-model")
            with pytest.raises(urllib.error.HTTPError) as refused:
                _post(base, key, body)
            assert refused.value.code == 404
            assert b"model_not_found" in refused.value.read()
            upstream_before = len(stub.requests)
            subprocess.run([BIN, "prices", "set", "--db", str(db), "--model", "e2e-live-model", "--input", "1",
                            "--output", "2", "--from", "2000-01-01", "--source", "e2e live price"],
                           check=True, capture_output=True)
            set_at = time.monotonic()
            accepted = []

            def call():
                try:
                    accepted.append(_post(base, key, body))
                    return True
                except urllib.error.HTTPError as error:
                    assert error.code == 404
                    return False

            wait_for(call, seconds=5, what="the new price to apply")
            assert time.monotonic() - set_at < 1.0
            assert len(stub.requests) == upstream_before + 1
            request = urllib.request.Request(base + "/v1/models", headers={"Authorization": f"Bearer {key}"})
            with urllib.request.urlopen(request, timeout=5) as response:
                models = [m["id"] for m in json.loads(response.read())["data"]]
            assert "e2e-live-model" in models and "gpt-4.1" in models
            with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
                metrics = response.read().decode()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    call_id = accepted[0][1]
    status, price_status, paid = _rows(db)[call_id]
    assert (status, price_status) == ("ok", "priced") and paid > 0
    # /metrics counts the cost the ledger recorded for that very call (nano-USD, truncated).
    line = next(line for line in metrics.splitlines()
                if line.startswith("ledger_cost_nusd_total") and 'model="e2e-live-model"' in line)
    assert int(float(line.rsplit(" ", 1)[1])) == paid // 1000


def _read_response(sock, deadline_seconds=15):
    """Reads one HTTP response (head and Content-Length body) from `sock`; returns (status, headers, body)."""
    sock.settimeout(deadline_seconds)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _closed_by_server(sock, seconds):
    """True when the server closes `sock` within `seconds` (recv returns EOF or the connection resets)."""
    sock.settimeout(seconds)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_a_slow_request_body_gets_408_and_is_recorded_while_normal_calls_pass(tmp_path):
    with StubUpstream() as stub:
        proc, db, key, base, port = _start(tmp_path, stub, "[server]\nbody_timeout_seconds = 1\n")
        try:
            body = json.dumps(CHAT).encode()
            slow = socket.create_connection(("127.0.0.1", port))
            slow.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                         + body[:10])
            # A normal call on another connection is not held up by the slow one.
            assert _post(base, key)[0] == 200
            status, headers, answer = _read_response(slow)
            assert status == 408
            assert json.loads(answer)["error"]["code"] == "request_timeout"
            call_id = int(headers["x-ledger-call-id"])
            # The rest of that body is never waited for: the proxy closes the connection.
            assert _closed_by_server(slow, 10)
            slow.close()
            assert len(stub.requests) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT status, http_status, error_type FROM call WHERE id = ?", (call_id,)).fetchone()
    assert row == ("client_error", 408, "request_timeout")


def test_idle_keep_alive_connections_are_closed(tmp_path):
    with StubUpstream() as stub:
        proc, db, key, base, port = _start(tmp_path, stub, "[server]\nidle_timeout_seconds = 1\n")
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, _ = _read_response(sock)
            assert status == 200 and headers.get("connection", "keep-alive") != "close"
            # Kept alive after the reply, then closed by the server once idle.
            assert _closed_by_server(sock, 15)
            sock.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
