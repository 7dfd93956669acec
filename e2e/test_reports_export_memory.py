"""`export` streams: exporting ten times as many calls does not grow the process's memory."""
import sqlite3
import subprocess
import sys

from reports_fixture import BIN, NOV_1

MEASURE = r"""
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def max_rss_kib(*args):
    out = subprocess.run([sys.executable, "-c", MEASURE, BIN, *args], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def test_export_memory_stays_flat_from_30k_to_300k_calls(tmp_path):
    db = tmp_path / "ledger.sqlite"
    subprocess.run([BIN, "migrate", "--db", str(db)], check=True, capture_output=True)
    with sqlite3.connect(db) as conn:
        # 300,000 priced calls over November, one every 8.64 s; team names and tags vary.
        conn.execute(f"""
            INSERT INTO call (id, started_at_us, finished_at_us, month, endpoint, model, provider, provider_kind,
                stream, status, prompt_tokens, cached_prompt_tokens, completion_tokens, reasoning_tokens,
                usage_source, latency_us, team, tags, price_status, official_price_id, holysheep_price_id,
                cost_paid_pusd, cost_official_pusd, cost_holysheep_pusd)
            WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < 299999)
            SELECT i + 1, {NOV_1} + i * 8640000, {NOV_1} + i * 8640000 + 1000, 202611, '/v1/chat/completions',
                'gpt-4.1', 'holysheep', 'holysheep', 0, 'ok', 1000 + i % 97, 0, 200 + i % 13, 0, 'upstream',
                1000 + i % 5000, 'team-' || (i % 20) || ', "quoted"', 'project=p' || (i % 3), 'priced',
                (SELECT id FROM price WHERE provider_kind = 'official' AND model = 'gpt-4.1' AND service_tier = ''),
                (SELECT id FROM price WHERE provider_kind = 'holysheep' AND model = 'gpt-4.1' AND service_tier = ''), 1, 2, 1
            FROM seq""")
    small = max_rss_kib("export", "--db", str(db), "--from", "2026-11-01", "--to", "2026-11-04")
    large = max_rss_kib("export", "--db", str(db), "--from", "2026-11-01", "--to", "2026-12-01")
    lines = subprocess.run([BIN, "export", "--db", str(db), "--from", "2026-11-01", "--to", "2026-12-01"],
                           check=True, capture_output=True).stdout.count(b"\r\n")
    assert lines == 300_001
    # 30k vs 300k rows (~40 MB of CSV): the larger export may not hold its output or rows in memory.
    assert large - small < 8 * 1024, (small, large)
