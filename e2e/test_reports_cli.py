"""report / roi / export / rates through the built binary: formats, errors, currency, streaming export."""
import json
import os
import stat
import subprocess

from reports_fixture import BIN, make_ledger


class Result:
    def __init__(self, completed):
        self.returncode = completed.returncode
        # Decoded by hand: text=True would turn the CSV's CRLF into LF.
        self.stdout = completed.stdout.decode("utf-8")
        self.stderr = completed.stderr.decode("utf-8")


def run(*args, check=True, now="2027-01-15T00:00:00Z"):
    env = dict(os.environ, HOLYSHEEP_LEDGER_NOW=now)
    return Result(subprocess.run([BIN, *args], capture_output=True, check=check, env=env))


def test_roi_gives_the_migration_guides_figures(tmp_path):
    out = run("roi", "--db", str(tmp_path / "l.sqlite"), "--tokens", "50",
              "--mix", "gpt-4.1=0.4,deepseek-v3.2=0.4,gemini-2.5-flash=0.2", "--format", "csv").stdout
    assert "official_cost_usd_per_month,193.40\r\n" in out
    assert "holysheep_cost_usd_per_month,30.94\r\n" in out
    assert "monthly_savings_usd,162.46\r\n" in out
    assert "annual_savings_usd,1949.47\r\n" in out
    assert "roi_pct,525.0\r\n" in out


def test_bad_input_gets_one_clear_line_and_a_nonzero_exit(tmp_path):
    db = str(tmp_path / "l.sqlite")
    cases = [
        (["roi", "--db", db, "--tokens", "50", "--mix", "gpt-4.1=0.5,deepseek-v3.2=0.4"], "sum to 0.9"),
        (["roi", "--db", db, "--tokens", "50", "--mix", "gpt-9=1"], "unknown model 'gpt-9'"),
        (["report", "--db", db, "--month", "2026-13"], "month 13 is out of range"),
        (["report", "--db", db, "--by", "colour"], "not a grouping"),
        (["report", "--db", db, "--from", "2026-11-05", "--to", "2026-11-01"], "is empty"),
        (["report", "--db", db, "--month", "2026-11", "--currency", "THB"], "no THB rate covers 2026-11-01"),
        (["report", "--db", db, "--month", "2026-11", "--year", "2026"], "one of --month, --year"),
        (["rates", "set", "THB", "abc", "--from", "2026-11-01", "--db", db], "not a rate"),
    ]
    for args, message in cases:
        r = run(*args, check=False)
        assert r.returncode != 0, args
        assert message in r.stderr, (args, r.stderr)


def test_currency_uses_the_rate_set_and_says_so(tmp_path):
    db = str(make_ledger(tmp_path / "l.sqlite"))
    run("rates", "set", "THB", "35.50", "--from", "2026-11-01", "--db", db)
    usd = json.loads(run("report", "--db", db, "--month", "2026-11", "--format", "json").stdout)
    thb = json.loads(run("report", "--db", db, "--month", "2026-11", "--format", "json", "--currency", "THB").stdout)
    assert "rate used: 35.5 THB per USD, effective from 2026-11-01" in thb["notes"]
    assert "cost_paid_thb" in thb["columns"]
    exact_usd = float(usd["exact"]["total_cost_paid_usd"])
    assert abs(float(thb["footer"][0]["cost_paid_thb"]) - exact_usd * 35.5) <= 0.005 + 1e-9


def test_output_files_are_written_whole_and_formats_follow_the_extension(tmp_path):
    db = str(make_ledger(tmp_path / "l.sqlite"))
    for name, start in [("r.csv", "model,calls"), ("r.json", "{"), ("r.md", "# HolySheep"), ("r.html", "<!DOCTYPE")]:
        run("report", "--db", db, "--month", "2026-11", "--output", str(tmp_path / name))
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start), name
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp" in p.name) == []
    year = run("report", "--db", db, "--year", "2026", "--format", "csv").stdout.split("\r\n")
    assert year[0].startswith("month,calls")
    assert [line.split(",")[0] for line in year[1:13]] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert year[13].startswith("TOTAL,10,")
    assert len([l for l in year if l]) == 14  # a past year: no projection


def test_the_current_year_shows_months_so_far_and_a_projection_and_the_default_month_is_now(tmp_path):
    db = str(make_ledger(tmp_path / "l.sqlite"))
    lines = [l for l in run("report", "--db", db, "--year", "2026", "--format", "csv",
                            now="2026-11-27T00:00:00Z").stdout.split("\r\n") if l]
    assert [l.split(",")[0] for l in lines[1:]] == [f"2026-{m:02d}" for m in range(1, 12)] + ["TOTAL", "annualised"]
    header, total, projected = lines[0].split(","), lines[-2].split(","), lines[-1].split(",")
    i = header.index("cost_official_usd")
    # 2026-11-27T00:00Z is 330 days into 365: annualised = total x 365/330, within rounding.
    assert abs(float(projected[i]) - float(total[i]) * 365 / 330) < 0.011
    default = run("report", "--db", db, "--format", "csv", now="2026-11-27T00:00:00Z").stdout
    explicit = run("report", "--db", db, "--month", "2026-11", "--format", "csv").stdout
    assert default == explicit
    december = run("report", "--db", db, "--format", "csv", now="2026-12-02T00:00:00Z").stdout
    assert december.split("\r\n")[1].startswith("TOTAL,0,")


def test_export_streams_every_call_of_the_range(tmp_path):
    db = str(make_ledger(tmp_path / "l.sqlite"))
    csv = run("export", "--db", db, "--from", "2026-11-01", "--to", "2026-11-04").stdout
    lines = csv.split("\r\n")
    assert lines[0].startswith("id,started_at,finished_at,endpoint")
    assert len([l for l in lines[1:] if l]) == 5  # days 1, 2, 3 (to excluded)
    assert lines[1].split(",")[1] == "2026-11-01T12:00:00.000001Z"
    jsonl = run("export", "--db", db, "--from", "2026-11-01", "--to", "2026-12-01", "--format", "jsonl").stdout
    rows = [json.loads(l) for l in jsonl.splitlines()]
    assert len(rows) == 10
    assert rows[0]["cost_official_usd"] == json.loads("0.004900000000")
    assert any(r["usage_source"] == "missing" and r["cost_paid_usd"] is None for r in rows)
    out = tmp_path / "nov.csv"
    run("export", "--db", db, "--from", "2026-11-01", "--to", "2026-12-01", "--output", str(out))
    assert out.read_bytes().count(b"\r\n") == 11


def test_output_to_a_named_pipe_writes_into_it_and_leaves_it_a_pipe(tmp_path):
    # --output is atomic (temp file + rename) for files; a device or pipe (/dev/null, /dev/stdout) must be written
    # in place: a rename over it replaces it with a plain file (as root, /dev/null itself).
    db = str(make_ledger(tmp_path / "l.sqlite"))
    expected = {
        "export": run("export", "--db", db, "--from", "2026-11-01", "--to", "2026-12-01").stdout,
        "report": run("report", "--db", db, "--month", "2026-11", "--format", "csv").stdout,
    }
    for command, args in [
        ("export", ["--from", "2026-11-01", "--to", "2026-12-01"]),
        ("report", ["--month", "2026-11", "--format", "csv"]),
    ]:
        pipe = tmp_path / f"{command}.pipe"
        os.mkfifo(pipe)
        # Our end is open (non-blocking) before the command runs, so its open for writing does not wait, and what it
        # writes (a few KiB, under the pipe's 64 KiB buffer) waits in the pipe until it exits.
        assert len(expected[command]) < 60_000
        fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
        try:
            result = run(command, "--db", db, *args, "--output", str(pipe), check=False)
            chunks = []
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:  # a writer still holds the pipe open: the command left it open
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        assert result.returncode == 0, result.stderr
        assert stat.S_ISFIFO(os.stat(pipe).st_mode), f"{command} replaced the named pipe with a file"
        assert b"".join(chunks).decode("utf-8") == expected[command]


def test_every_command_has_help_with_examples():
    for command in [["report"], ["roi"], ["export"], ["rates"], ["rates", "set"]]:
        out = run(*command, "--help").stdout
        assert "Examples:" in out or "Example:" in out, command
