"""The .xlsx report opened by LibreOffice Calc (headless): every figure equals the CLI's CSV, numbers are numbers
with currency and percent formats, the header row is frozen under the headline, one sheet per grouping."""
import csv
import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal

from reports_fixture import BIN, HOSTILE_TEAM, make_ledger

NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
ENV = {"HOLYSHEEP_LEDGER_NOW": "2026-12-10T00:00:00Z", "PATH": "/usr/bin:/bin"}


def q(ns, name):
    return "{%s}%s" % (NS[ns], name)


def sheets_via_libreoffice(xlsx, tmp_path):
    """{sheet name: rows of (value_type, value, text)} as LibreOffice reads the workbook (converted to .fods)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice (soffice) must be installed: scripts/setup.sh installs libreoffice-calc-nogui"
    out = tmp_path / "calc"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--norestore",
         "--convert-to", "fods", "--outdir", str(out), str(xlsx)], check=True, capture_output=True, timeout=180)
    doc = ET.parse(out / (xlsx.stem + ".fods"))
    sheets = {}
    for table in doc.iter(q("table", "table")):
        rows = []
        for row in table.iter(q("table", "table-row")):
            cells = []
            for cell in row.iter(q("table", "table-cell")):
                repeat = int(cell.get(q("table", "number-columns-repeated"), "1"))
                text = "".join("".join(p.itertext()) for p in cell.findall(q("text", "p")))
                cells.extend([(cell.get(q("office", "value-type")), cell.get(q("office", "value")), text)]
                             * min(repeat, 64))
            while cells and cells[-1][0] is None:
                cells.pop()
            rows.append(cells)
        sheets[table.get(q("table", "name"))] = rows
    return sheets


def csv_via_libreoffice(xlsx, tmp_path):
    """The first sheet as LibreOffice's CSV export (formatted text, as a user would see it)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    out = tmp_path / "csv"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--norestore",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(out), str(xlsx)],
        check=True, capture_output=True, timeout=180)
    return list(csv.reader(io.StringIO((out / (xlsx.stem + ".csv")).read_text(encoding="utf-8"))))


def cli_csv(db, *args):
    out = subprocess.run([BIN, "report", "--db", str(db), *args, "--format", "csv"], capture_output=True, text=True,
                         env=ENV, check=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def check_sheet(rows, expected, first_column):
    """Every figure of the CLI's CSV rows equals the sheet's cell, as a number of the right kind."""
    header_index = next(i for i, r in enumerate(rows) if r and r[0][2] == first_column.capitalize())
    body = rows[header_index + 1: header_index + 1 + len(expected)]
    assert len(body) == len(expected)
    columns = list(expected[0].keys())
    for row, want in zip(body, expected):
        name = want[columns[0]]
        if name[:2] in ("'=", "'+", "'-", "'@"):
            name = name[1:]  # the CSV neutralises formula-like names; the workbook keeps them as text cells
        assert row[0] == ("string", None, name or "(none)")
        for i, name in enumerate(columns[1:], start=1):
            kind, value, text = row[i] if i < len(row) else (None, None, "")
            if want[name] == "":
                assert kind is None, (name, row[i])
                continue
            if name.endswith("_pct"):
                assert kind == "percentage", (name, kind)
                assert Decimal(value) * 100 == Decimal(want[name]), (name, value, want[name])
            else:
                assert kind in ("float", "currency"), (name, kind, text)
                assert Decimal(value) == Decimal(want[name]), (name, value, want[name])
    return header_index


def test_xlsx_figures_equal_the_csv_and_every_grouping_gets_a_sheet(tmp_path):
    db = make_ledger(tmp_path / "ledger.sqlite")
    xlsx = tmp_path / "november.xlsx"
    subprocess.run([BIN, "report", "--db", str(db), "--month", "2026-11", "--by", "model,team", "--output",
                    str(xlsx)], check=True, capture_output=True, env=ENV)
    with zipfile.ZipFile(xlsx) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert "xl/worksheets/sheet1.xml" in names and "xl/worksheets/sheet2.xml" in names
        sheet1 = z.read("xl/worksheets/sheet1.xml").decode()
        assert 'state="frozen"' in sheet1
        styles = z.read("xl/styles.xml").decode()
        assert 'formatCode="#,##0.00 &quot;USD&quot;"' in styles and 'numFmtId="10"' in styles

    sheets = sheets_via_libreoffice(xlsx, tmp_path)
    assert list(sheets) == ["2026-11 by model", "2026-11 by team"]
    model_rows = sheets["2026-11 by model"]
    header = check_sheet(model_rows, cli_csv(db, "--month", "2026-11", "--by", "model"), "model")
    check_sheet(sheets["2026-11 by team"], cli_csv(db, "--month", "2026-11", "--by", "team"), "team")
    # The headline sits above the header: paid, official, saved as numbers, equal to the TOTAL row.
    total = cli_csv(db, "--month", "2026-11")[-1]
    headline = {r[0][2]: r for r in model_rows[:header] if r}
    assert Decimal(headline["Paid (USD)"][1][1]) == Decimal(total["cost_paid_usd"])
    assert Decimal(headline["Official (USD)"][1][1]) == Decimal(total["cost_official_usd"])
    assert Decimal(headline["Saved (USD)"][1][1]) == Decimal(total["savings_usd"])
    # A team named like a formula stays text.
    team_rows = sheets["2026-11 by team"]
    assert any(r and r[0] == ("string", None, HOSTILE_TEAM) for r in team_rows)

    # LibreOffice's CSV export of the first sheet shows the formatted figures a reader sees.
    shown = csv_via_libreoffice(xlsx, tmp_path)
    at = next(i for i, r in enumerate(shown) if r and r[0] == "Model")
    want = cli_csv(db, "--month", "2026-11", "--by", "model")
    for row, expected in zip(shown[at + 1:], want):
        assert row[0] == expected["model"]
        assert row[10].replace(",", "").replace(" USD", "") == expected["cost_paid_usd"]
        assert row[12].replace("%", "") == expected["savings_pct"]
