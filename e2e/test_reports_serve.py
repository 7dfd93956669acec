"""GET /reports on a running `serve`: admin keys only (no key 401, client key 403), the same bytes as the CLI
for the same arguments, an index of the last 12 months, and the page rendered by headless Chromium."""
import base64
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request

import pytest

from proxy_stub_upstream import free_port, wait_until_listening
from reports_fixture import BIN, make_ledger
from test_reports_html import png_pixels

NOW = "2026-12-10T00:00:00Z"


def create_key(db, *extra):
    out = subprocess.run([BIN, "keys", "create", "--db", str(db), "--name", "finance", *extra],
                         capture_output=True, text=True, check=True)
    return re.search(r"hsl-[0-9a-f]+", out.stdout).group(0)


@pytest.fixture()
def served(tmp_path):
    db = make_ledger(tmp_path / "ledger.sqlite")
    admin = create_key(db, "--admin")
    client = create_key(db)
    config = tmp_path / "proxy.ini"
    config.write_text("[provider holysheep]\nbase_url = http://127.0.0.1:9/v1\ntimeout_seconds = 5\n")
    port = free_port()
    env = dict(os.environ, HOLYSHEEP_API_KEY="unused", HOLYSHEEP_LEDGER_NOW=NOW)
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--config", str(config), "--db", str(db)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_listening(base)
    try:
        yield db, admin, client, base, port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def get(url, key=None, basic=None):
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if basic:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"finance:{basic}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def cli(db, *args):
    return subprocess.run([BIN, "report", "--db", str(db), *args], capture_output=True, check=True,
                          env={"HOLYSHEEP_LEDGER_NOW": NOW, "PATH": "/usr/bin:/bin"}).stdout


def test_reports_need_an_admin_key_and_give_the_clis_bytes(served):
    db, admin, client, base, _ = served
    status, headers, body = get(base + "/reports?month=2026-11&format=csv")
    assert status == 401 and b"missing_api_key" in body
    assert headers.get("WWW-Authenticate", "").startswith("Basic")
    status, _, body = get(base + "/reports?month=2026-11&format=csv", key=client)
    assert status == 403 and b"admin_key_required" in body
    status, _, _ = get(base + "/reports?month=2026-11&format=csv", key="hsl-00000000nope")
    assert status == 401
    for fmt in ("csv", "json", "html", "xlsx"):
        status, headers, body = get(base + f"/reports?month=2026-11&by=team&format={fmt}", key=admin)
        assert status == 200, body[:200]
        assert body == cli(db, "--month", "2026-11", "--by", "team", "--format", fmt), fmt
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    status, _, body = get(base + "/reports?year=2026&format=csv", key=admin)
    assert status == 200 and body == cli(db, "--year", "2026", "--format", "csv")
    status, _, body = get(base + "/reports?from=2026-11-01&to=2026-11-08&format=json", key=admin)
    assert status == 200 and body == cli(db, "--from", "2026-11-01", "--to", "2026-11-08", "--format", "json")
    # Basic auth (what a browser sends after the challenge) with the key as the password.
    status, _, _ = get(base + "/reports?month=2026-11&format=csv", basic=admin)
    assert status == 200
    status, _, body = get(base + "/reports?month=2026-13", key=admin)
    assert status == 400 and b"month 13 is out of range" in body
    status, _, index = get(base + "/reports", key=admin)
    assert status == 200
    months = re.findall(rb'href="/reports\?month=(\d{4}-\d{2})&amp;format=html"', index)
    assert months[0] == b"2026-12" and months[-1] == b"2026-01" and len(months) == 12


def test_the_report_page_renders_in_headless_chromium(served, tmp_path):
    _, admin, _, _, port = served
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium must be installed: scripts/setup.sh installs it"
    # Credentials in the URL: Chromium answers the Basic challenge with them, as a person would in the prompt.
    url = f"http://finance:{admin}@127.0.0.1:{port}/reports?month=2026-11&by=model,team&format=html"
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120).stdout
    assert "Official vs paid per model" in dom and "by team" in dom
    for size in ((1400, 1000), (390, 844)):
        png = tmp_path / f"served-{size[0]}.png"
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
             url], check=True, capture_output=True, timeout=120)
        width, height, distinct = png_pixels(png)
        assert (width, height) == size and distinct > 16
