"""Reports for people, reconciliation and month close through the built binary."""
import csv
import io
import sqlite3
import subprocess

from reports_fixture import BIN, NOV_1, make_ledger


def run(*args, now="2026-12-10T00:00:00Z", check=True):
    env = {"HOLYSHEEP_LEDGER_NOW": now, "PATH": "/usr/bin:/bin"}
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=env, check=check)


def test_the_default_table_is_for_people_and_fits_100_columns(tmp_path):
    db = str(make_ledger(tmp_path / "ledger.sqlite"))
    table = run("report", "--db", db, "--month", "2026-11").stdout
    assert max(len(line) for line in table.splitlines()) <= 100
    head = table.split("period:")[0]
    for label in ("Paid (USD)", "Official (USD)", "Saved (USD)", "Saved %", "Calls", "Failure rate %", "2026-10"):
        assert label in head  # the headline comes before the notes and the table
    assert "cached_input_tokens" not in table and "unpriced_calls" not in table
    assert "7,123,456" in table  # thousands separators
    wide = run("report", "--db", db, "--month", "2026-11", "--columns", "all").stdout
    assert "Cached" in wide and "Unpriced" in wide and "Fallback" in wide  # headers may wrap onto two lines
    some = run("report", "--db", db, "--month", "2026-11", "--columns", "calls,cost_paid_usd").stdout
    assert "Paid (USD)" in some and "Output" not in some.split("period:")[1]
    bad = run("report", "--db", db, "--month", "2026-11", "--columns", "nope", check=False)
    assert bad.returncode != 0 and "unknown column 'nope'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    # CSV keeps the machine header (an interface) and no headline.
    assert run("report", "--db", db, "--month", "2026-11", "--format", "csv").stdout.startswith("model,calls,")


def ledger_bill(db):
    """The bill the ledger implies, from the raw call rows: one line per UTC day and model."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT date(started_at_us / 1000000, 'unixepoch'), model, sum(prompt_tokens), sum(cached_prompt_tokens),"
            " sum(completion_tokens), sum(cost_paid_pusd) FROM call WHERE prompt_tokens IS NOT NULL"
            " GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    lines = ["date,model,input_tokens,cached_input_tokens,output_tokens,cost_usd"]
    for d, m, i, c, o, p in rows:
        lines.append(f"{d},{m},{i},{c},{o},{p // 10**12}.{p % 10**12:012d}")
    return lines


def test_reconcile_agrees_with_an_exact_bill_and_names_each_discrepancy(tmp_path):
    db = str(make_ledger(tmp_path / "ledger.sqlite"))
    lines = ledger_bill(db)
    bill = tmp_path / "bill.csv"
    bill.write_text("\r\n".join(lines) + "\r\n")
    ok = run("reconcile", "--db", db, "--bill", str(bill), "--month", "2026-11", "--format", "csv")
    assert ok.returncode == 0, ok.stderr
    rows = list(csv.DictReader(io.StringIO(ok.stdout)))
    assert rows[-1]["date"] == "TOTAL" and rows[-1]["status"] == "ok"
    assert all(r["status"] == "ok" for r in rows)
    # A price typo (+0.05 USD on one line), a missed stream (output tokens) and a line the ledger has no call for.
    fields = lines[1].split(",")
    fields[5] = str(round(float(fields[5]) + 0.05, 12))
    lines[1] = ",".join(fields)
    tokens = lines[2].split(",")
    tokens[4] = str(int(tokens[4]) + 100)
    lines[2] = ",".join(tokens)
    lines.append("2026-11-27,gpt-4.1,10,0,5,0.01")
    bill.write_text("\n".join(lines) + "\n")
    bad = run("reconcile", "--db", db, "--bill", str(bill), "--month", "2026-11", check=False)
    assert bad.returncode == 1
    named = bad.stderr.strip().splitlines()
    assert f"discrepancy: {fields[0]} {fields[1]}: cost differs by 0.05 USD" in named
    assert f"discrepancy: {tokens[0]} {tokens[1]}: output tokens differ by 100" in named
    assert "discrepancy: 2026-11-27 gpt-4.1: no call in the ledger" in named
    assert len(named) == 3
    # A tolerance above the typo lets the cost line agree; the token line still does not.
    loose = run("reconcile", "--db", db, "--bill", str(bill), "--month", "2026-11", "--tolerance-usd", "0.06",
                check=False)
    assert loose.returncode == 1 and "cost differs" not in loose.stderr
    # Malformed: one line naming the line, nothing else.
    bill.write_text(lines[0] + "\n" + lines[1] + "\n2026-11-02,gpt-4.1,ten,0,1,0.1\n")
    broken = run("reconcile", "--db", db, "--bill", str(bill), "--month", "2026-11", check=False)
    assert broken.returncode != 0
    assert "line 3: input_tokens 'ten'" in broken.stderr and len(broken.stderr.strip().splitlines()) == 1
    assert broken.stdout == ""
    missing = run("reconcile", "--db", db, "--bill", str(tmp_path / "none.csv"), "--month", "2026-11", check=False)
    assert missing.returncode != 0 and missing.stderr.strip() == f"Error: cannot read the bill {tmp_path / 'none.csv'}"


def test_close_freezes_a_month_and_late_calls_become_adjustments(tmp_path):
    db = str(make_ledger(tmp_path / "ledger.sqlite"))
    before = run("report", "--db", db, "--month", "2026-11", "--format", "csv").stdout
    not_ended = run("close", "--db", db, "--month", "2026-12", check=False)
    assert not_ended.returncode != 0 and "has not ended" in not_ended.stderr
    closed = run("close", "--db", db, "--month", "2026-11").stdout
    assert closed.startswith("closed 2026-11 at 2026-12-10T00:00:00") and "SHA-256" in closed
    again = run("close", "--db", db, "--month", "2026-11", check=False)
    assert again.returncode != 0 and "already closed" in again.stderr
    # A late call for 29 November, recorded the way the ledger does (the rollup kept in step).
    with sqlite3.connect(db) as conn:
        start = NOV_1 + 28 * 86_400_000_000
        conn.execute(
            "INSERT INTO call (id, started_at_us, finished_at_us, month, endpoint, model, provider, provider_kind,"
            " stream, status, usage_source, latency_us, team, price_status) VALUES"
            " (1000, ?, ?, 202611, '/v1/chat/completions', 'gpt-4.1', 'holysheep', 'holysheep', 0, 'ok',"
            " 'missing', 1000, 'late', 'no_usage')", (start, start + 1000))
        conn.execute(
            "INSERT INTO call_rollup VALUES (?, 202611, 'gpt-4.1', 'holysheep', 'holysheep', 'late', 0, '',"
            " 'no_usage', 0, 0, 1, 0, 0, 0, 0, 0, 1000, 0, 0, 0, 0)", (start // 86_400_000_000,))
    assert run("report", "--db", db, "--month", "2026-11", "--format", "csv").stdout == before
    table = run("report", "--db", db, "--month", "2026-11").stdout
    assert "CLOSED 2026-12-10T00:00:00" in table
    december = run("report", "--db", db, "--month", "2026-12", "--format", "csv").stdout
    adjustment = [r for r in csv.DictReader(io.StringIO(december)) if r["model"].startswith("adjustment")]
    assert [(r["model"], r["calls"], r["no_usage_calls"]) for r in adjustment] == [
        ("adjustment 2026-11: gpt-4.1", "1", "1")]
    recorded = list(csv.DictReader(io.StringIO(
        run("report", "--db", db, "--month", "2026-11", "--as-recorded", "--format", "csv").stdout)))
    by_label = {r["model"]: r for r in recorded}
    assert int(by_label["TOTAL"]["calls"]) == int(by_label["TOTAL as closed"]["calls"]) + 1
    assert by_label["difference"]["calls"] == "1"
    reopened = run("reopen", "--db", db, "--month", "2026-11", "--reason", "late batch rebooked").stdout
    assert "reopened 2026-11" in reopened and "late batch rebooked" in reopened
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT reopen_reason FROM month_close").fetchall() == [("late batch rebooked",)]
    assert "adjustment" not in run("report", "--db", db, "--month", "2026-12", "--format", "csv").stdout
