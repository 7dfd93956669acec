"""End-to-end: the built binary against a real ledger file."""
import os
import sqlite3
import subprocess


BIN = os.environ["HOLYSHEEP_LEDGER_BIN"]


def test_migrate_creates_a_ledger_with_the_default_price_book(tmp_path):
    db = tmp_path / "ledger.sqlite"
    out = subprocess.run([BIN, "migrate", "--db", str(db)], capture_output=True, text=True, check=True)
    assert "up to date" in out.stdout
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute(
            "SELECT model, output_musd_per_mtok FROM price WHERE provider_kind='holysheep' "
            "AND min_prompt_tokens = 0 AND service_tier = ''").fetchall())
    assert rows["gpt-4.1"] == 1_280_000
    assert rows["deepseek-v3.2"] == 67_200
