"""The monthly CSV opened by LibreOffice Calc (headless): numbers arrive as numbers, the TOTAL row equals the sum
of the rows, and a team named =HYPERLINK(...) stays text (OWASP CSV injection neutralised)."""
import shutil
import subprocess
import xml.etree.ElementTree as ET
from decimal import Decimal, ROUND_HALF_EVEN

import pytest

from reports_fixture import BIN, HOSTILE_TEAM, make_ledger, raw_calls

NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def q(ns, name):
    return "{%s}%s" % (NS[ns], name)


def calc_cells(csv_path, tmp_path):
    """Converts the CSV with LibreOffice and returns rows of (value_type, value, text) per cell."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice (soffice) must be installed: scripts/setup.sh installs libreoffice-calc-nogui"
    out = tmp_path / "calc"
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", str(out), str(csv_path)],
        check=True, capture_output=True, timeout=180)
    doc = ET.parse(out / (csv_path.stem + ".fods"))
    rows = []
    for row in doc.iter(q("table", "table-row")):
        cells = []
        for cell in row.iter(q("table", "table-cell")):
            repeat = int(cell.get(q("table", "number-columns-repeated"), "1"))
            text = "".join("".join(p.itertext()) for p in cell.findall(q("text", "p")))
            entry = (cell.get(q("office", "value-type")), cell.get(q("office", "value")), text,
                     cell.get(q("table", "formula")))
            cells.extend([entry] * min(repeat, 64))
        while cells and cells[-1][0] is None:
            cells.pop()
        if cells:
            rows.append(cells)
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lo")
    db = make_ledger(tmp / "ledger.sqlite")
    csv_path = tmp / "november.csv"
    subprocess.run([BIN, "report", "--db", str(db), "--month", "2026-11", "--by", "team", "--format", "csv",
                    "--output", str(csv_path)], check=True, capture_output=True)
    return db, csv_path, calc_cells(csv_path, tmp)


def test_the_csv_file_is_rfc4180_with_a_unit_header(report):
    _, csv_path, _ = report
    data = csv_path.read_bytes()
    assert data.startswith(b"team,calls,failed_calls,")
    assert b"cost_official_usd,cost_paid_usd,savings_usd" in data
    assert data.count(b"\r\n") == data.count(b"\n")  # every line ends CRLF
    assert "ทีมไทย".encode() in data  # UTF-8
    assert b'"\'=HYPERLINK(""http://x"",""y"")"' in data


def test_numbers_arrive_as_numbers_and_the_total_is_the_sum_of_the_rows(report):
    _, _, rows = report
    header = [c[2] for c in rows[0]]
    body, total = rows[1:-1], rows[-1]
    assert total[0][2] == "TOTAL"
    assert len(body) == 6
    for name in ["calls", "input_tokens", "output_tokens", "cost_official_usd", "cost_paid_usd", "savings_usd",
                 "avg_latency_ms"]:
        i = header.index(name)
        for row in body + [total]:
            assert row[i][0] == "float", (name, row[i])
    for name in ["calls", "failed_calls", "input_tokens", "cost_official_usd", "cost_paid_usd", "savings_usd"]:
        i = header.index(name)
        assert sum(Decimal(r[i][1]) for r in body) == Decimal(total[i][1]), name


def test_a_formula_team_name_stays_text(report):
    _, _, rows = report
    hostile = [r for r in rows if HOSTILE_TEAM in r[0][2]]
    assert len(hostile) == 1
    kind, _, text, formula = hostile[0][0]
    assert kind == "string"
    assert formula is None
    assert text.lstrip("'") == HOSTILE_TEAM
    minus = [r for r in rows if r[0][2].lstrip("'") == "-ops"]
    assert minus and minus[0][0][0] == "string"


def test_every_figure_matches_a_recomputation_from_the_raw_calls(report):
    db, _, rows = report
    header = [c[2] for c in rows[0]]
    cent = Decimal("0.01")
    official, paid, calls = {}, {}, {}
    for c in raw_calls(db):
        team = c["team"]
        calls[team] = calls.get(team, 0) + 1
        official[team] = official.get(team, 0) + (c["cost_official_pusd"] or 0)
        paid[team] = paid.get(team, 0) + (c["cost_paid_pusd"] or 0)
    by_team = {r[0][2].lstrip("'"): r for r in rows[1:-1]}
    assert set(by_team) == set(calls)
    exact_total = Decimal(sum(official.values())) / Decimal(10**12)
    assert Decimal(rows[-1][header.index("cost_official_usd")][1]) == exact_total.quantize(cent, ROUND_HALF_EVEN)
    for team, row in by_team.items():
        assert int(row[header.index("calls")][1]) == calls[team]
        exact = Decimal(official[team]) / Decimal(10**12)
        shown = Decimal(row[header.index("cost_official_usd")][1])
        assert abs(shown - exact) < cent, team  # within a cent (half-even, apportioned to sum to TOTAL)
        exact_paid = Decimal(paid[team]) / Decimal(10**12)
        assert abs(Decimal(row[header.index("cost_paid_usd")][1]) - exact_paid) < cent, team
