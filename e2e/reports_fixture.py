"""A fixture ledger for the report end-to-end tests: made with the built binary (`migrate`), then call rows
inserted the way the ledger stores them (costs = tokens x the price rows in effect, exact integers). Rows inserted
by hand are not rolled up (the ledger's own insert path does that, migrations/0003), so the fixture rebuilds
call_rollup afterwards with 0003's backfill query, as the migration says to."""
import os
import pathlib
import sqlite3
import subprocess

BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]
HOSTILE_TEAM = '=HYPERLINK("http://x","y")'
NOV_1 = 1793491200 * 1_000_000  # 2026-11-01T00:00:00Z in microseconds

# (day, model, provider_kind, team, prompt, cached, completion, latency_ms, status)
CALLS = [
    (1, "gpt-4.1", "holysheep", "search", 1200, 200, 350, 420, "ok"),
    (1, "gpt-4.1", "holysheep", "search", 98_765, 0, 12_345, 1310, "ok"),
    (2, "deepseek-v3.2", "holysheep", "support", 5000, 4000, 777, 95, "ok"),
    (3, "gemini-2.5-flash", "holysheep", HOSTILE_TEAM, 7_000_000, 0, 3_000_000, 48, "ok"),
    (3, "claude-sonnet-4.5", "official", "search", 2000, 500, 900, 2200, "ok"),
    (4, "claude-sonnet-4.5", "holysheep", "legal, EU", 1_000_000, 0, 250_000, 1800, "ok"),
    (5, "gpt-4.1", "holysheep", "support", None, None, None, 900, "interrupted"),
    (9, "gpt-4.1", "holysheep", "ทีมไทย", 55_555, 5_555, 4_444, 700, "ok"),
    (20, "gemini-2.5-flash", "holysheep", "-ops", 123_456, 23_456, 7_890, 640, "ok"),
    (30, "deepseek-v3.2", "holysheep", "search", 3, 1, 2, 333, "ok"),
]


def make_ledger(path):
    subprocess.run([BIN, "migrate", "--db", str(path)], check=True, capture_output=True)
    with sqlite3.connect(path) as conn:
        prices = {(k, m): (i, a, c, o) for i, k, m, a, c, o in conn.execute(
            "SELECT id, provider_kind, model, input_musd_per_mtok, cached_input_musd_per_mtok, "
            "output_musd_per_mtok FROM price WHERE min_prompt_tokens = 0 AND service_tier = ''")}
        for n, (day, model, kind, team, p, c, o, lat, status) in enumerate(CALLS, start=1):
            start = NOV_1 + (day - 1) * 86_400_000_000 + 12 * 3_600_000_000 + n
            row = dict(id=n, started_at_us=start, finished_at_us=start + lat * 1000, month=202611,
                       endpoint="/v1/chat/completions", requested_model=model, model=model, provider=kind,
                       provider_kind=kind, stream=0, status=status, fallback_used=int(kind == "official"),
                       latency_us=lat * 1000, team=team, usage_source="missing" if p is None else "upstream",
                       price_status="no_usage" if p is None else "priced")
            if p is not None:
                oi, oa, oc, oo = prices[("official", model)]
                hi, ha, hc, ho = prices[("holysheep", model)]
                official = (p - c) * oa + c * oc + o * oo
                relay = (p - c) * ha + c * hc + o * ho
                row.update(prompt_tokens=p, cached_prompt_tokens=c, completion_tokens=o, reasoning_tokens=0,
                           official_price_id=oi, holysheep_price_id=hi, cost_official_pusd=official,
                           cost_holysheep_pusd=relay, cost_paid_pusd=official if kind == "official" else relay)
            cols = ", ".join(row)
            conn.execute(f"INSERT INTO call ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
        rebuild_rollup(conn)
    return path


def rebuild_rollup(conn):
    """call_rollup recomputed from `call` with migrations/0003's own backfill statement (given 0003's column list:
    0004 added token sums, which default to 0 and are not used by these calls)."""
    migration = (pathlib.Path(__file__).parent.parent / "migrations" / "0003_call_rollup.sql").read_text()
    backfill = migration.split("-- Backfill from calls recorded before this migration.")[1].split("CREATE TRIGGER")[0]
    backfill = backfill.replace(
        "INSERT INTO call_rollup\n",
        "INSERT INTO call_rollup (day, month, model, provider, provider_kind, team, key_id, tags, price_status, "
        "official_price_id, holysheep_price_id, calls, failed_calls, fallback_calls, prompt_tokens, "
        "cached_prompt_tokens, completion_tokens, latency_us)\n")
    conn.execute("DELETE FROM call_rollup")
    conn.executescript(backfill)


def raw_calls(path):
    """Every November call as a dict, straight from the `call` table (for independent recomputation)."""
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM call WHERE month = 202611")]
