"""End-to-end: the ledger CLI (prices, keys, refusals) and the writer's durability under SIGKILL."""
import hashlib
import os
import signal
import sqlite3
import subprocess

BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]


def run(*args, check=True):
    out = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_every_store_command_has_help_with_examples():
    for cmd in (["prices"], ["prices", "list"], ["prices", "import"], ["prices", "set"],
                ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"], ["migrate"]):
        out = run(*cmd, "--help")
        assert "Examples:" in out.stdout, cmd
    assert "record-synthetic" not in run("--help").stdout


def test_errors_are_one_line_on_stderr_with_a_nonzero_exit(tmp_path):
    db = tmp_path / "ledger.sqlite"
    out = run("keys", "revoke", "42", "--db", str(db), check=False)
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "no client key with id 42" in out.stderr
    assert out.stdout == ""


def test_a_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("month,cost\n2026-11,12.50\n" * 100)
    before = digest(path)
    out = run("prices", "list", "--db", str(path), check=False)
    assert out.returncode != 0
    assert "not a SQLite ledger file" in out.stderr and out.stderr.strip().count("\n") == 0
    assert digest(path) == before
    assert not os.path.exists(str(path) + "-wal")


def test_a_ledger_from_a_newer_binary_is_refused_and_untouched(tmp_path):
    db = tmp_path / "ledger.sqlite"
    run("migrate", "--db", str(db))
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO grdb_migrations (identifier) VALUES ('0999_future')")
    conn.close()
    before = digest(db)
    out = run("keys", "list", "--db", str(db), check=False)
    assert out.returncode != 0 and "newer holysheep-ledger" in out.stderr
    assert digest(db) == before


def test_prices_import_is_all_or_nothing_and_names_the_bad_line(tmp_path):
    db = tmp_path / "ledger.sqlite"
    good = tmp_path / "good.csv"
    good.write_text(
        "provider_kind,model,input,cached_input,output,effective_from,source\n"
        "official,gpt-5,1.25,0.125,10,2026-12-01,\"OpenAI pricing, 2026-11-30\"\n"
        "holysheep,gpt-5,0.2,0.02,1.6,2026-12-01,HolySheep list\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "provider_kind,model,input,cached_input,output,effective_from,source\n"
        "official,o3,2,0.5,8,2026-12-01,OpenAI\n"
        "official,o4,2,0.5,eight,2026-12-01,OpenAI\n")
    out = run("prices", "import", str(bad), "--db", str(db), check=False)
    assert out.returncode != 0 and "line 3" in out.stderr
    assert "o3" not in run("prices", "list", "--db", str(db), "--history").stdout
    assert "imported 2" in run("prices", "import", str(good), "--db", str(db)).stdout
    listed = run("prices", "list", "--db", str(db), "--at", "2026-12-01").stdout
    assert "official\tgpt-5\t1.25\t0.125\t10.00\t2026-12-01T00:00:00.000000Z\tOpenAI pricing, 2026-11-30" in listed
    assert "gpt-5" not in run("prices", "list", "--db", str(db), "--at", "2026-11-30").stdout


def test_prices_set_derives_the_holysheep_price(tmp_path):
    db = tmp_path / "ledger.sqlite"
    run("prices", "set", "--db", str(db), "--model", "gpt-5", "--input", "1.25", "--output", "10",
        "--from", "2026-12-01", "--source", "OpenAI")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT provider_kind, output_musd_per_mtok FROM price WHERE model='gpt-5' "
                            "ORDER BY provider_kind").fetchall()
    assert rows == [("holysheep", 1_600_000), ("official", 10_000_000)]


def test_keys_create_list_revoke(tmp_path):
    db = tmp_path / "ledger.sqlite"
    created = run("keys", "create", "--name", "alice", "--team", "research", "--db", str(db))
    secret = created.stdout.strip()
    assert secret.startswith("hsl-") and len(secret) == 52
    assert "created key 1" in created.stderr
    listed = run("keys", "list", "--db", str(db)).stdout
    assert "alice\tresearch\t" + secret[:12] + "..." in listed
    assert secret[12:] not in listed
    with open(db, "rb") as f:
        assert secret.encode() not in f.read()
    assert "revoked key 1" in run("keys", "revoke", "1", "--db", str(db)).stdout
    assert run("keys", "list", "--db", str(db)).stdout.splitlines()[1].split("\t")[5] != ""


def test_acknowledged_rows_survive_sigkill(tmp_path):
    db = tmp_path / "ledger.sqlite"
    child = subprocess.Popen([BIN, "record-synthetic", "--db", str(db), "--count", "2000000", "--producers", "16"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    acked = []
    for line in child.stdout:
        acked.append(int(line.split()[1]))
        if len(acked) == 3000:
            os.kill(child.pid, signal.SIGKILL)  # mid-stream: producers are still queueing and committing
            break
    acked += [int(line.split()[1]) for line in child.stdout]  # acks already in the pipe
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert len(acked) >= 3000

    with sqlite3.connect(db) as conn:  # reopening recovers the WAL
        rows = {r[0]: r[1:] for r in conn.execute(
            "SELECT id, model, prompt_tokens, cached_prompt_tokens, completion_tokens, tags, price_status, "
            "cost_holysheep_pusd, started_at_us FROM call")}
        # The rollup commits in the same transactions as the calls (CallRecord.insert), so after the crash it
        # still equals a GROUP BY over whatever `call` rows survived (migrations/0003).
        group_by = """
            SELECT (started_at_us - ((started_at_us % 86400000000) + 86400000000) % 86400000000) / 86400000000,
                   month, ifnull(model, ''), ifnull(provider, ''), ifnull(provider_kind, ''), ifnull(team, ''),
                   ifnull(key_id, 0), ifnull(tags, ''), price_status, ifnull(official_price_id, 0),
                   ifnull(holysheep_price_id, 0), count(*), sum(status <> 'ok'), sum(fallback_used),
                   ifnull(sum(prompt_tokens), 0), ifnull(sum(cached_prompt_tokens), 0),
                   ifnull(sum(completion_tokens), 0), sum(latency_us)
            FROM call GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"""
        rollup = """
            SELECT day, month, model, provider, provider_kind, team, key_id, tags, price_status, official_price_id,
                   holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, cached_prompt_tokens,
                   completion_tokens, latency_us FROM call_rollup"""
        assert conn.execute(f"SELECT count(*) FROM ({group_by} EXCEPT {rollup})").fetchone() == (0,)
        assert conn.execute(f"SELECT count(*) FROM ({rollup} EXCEPT {group_by})").fetchone() == (0,)
        assert conn.execute("SELECT sum(calls) FROM call_rollup").fetchone() == (len(rows),)
    missing = [i for i in acked if i not in rows]
    assert missing == [], f"{len(missing)} acknowledged rows lost"
    for i in acked:
        prompt, cached, completion = i % 997 + 10, i % 7, i % 89 + 1
        cost = (prompt - cached) * 320_000 + cached * 80_000 + completion * 1_280_000
        assert rows[i] == ("gpt-4.1", prompt, cached, completion, f"synthetic-{i}", "priced", cost,
                           1_764_547_200_000_000 + i), i
    # And the ledger still opens for the CLI after the crash.
    run("migrate", "--db", str(db))
