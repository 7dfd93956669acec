"""The HTML report is one self-contained file that headless Chromium renders to a non-blank screenshot."""
import shutil
import struct
import subprocess
import zlib

from reports_fixture import BIN, make_ledger


def png_pixels(path):
    """(width, height, distinct byte values of the decoded scanlines) of a PNG, with the standard library only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width, height, len(set(raw[: 4_000_000]))


def test_html_report_is_self_contained_and_renders(tmp_path):
    db = make_ledger(tmp_path / "ledger.sqlite")
    html = tmp_path / "november.html"
    subprocess.run([BIN, "report", "--db", str(db), "--month", "2026-11", "--output", str(html)],
                   check=True, capture_output=True)
    text = html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<svg") == 3  # official vs paid per model; daily spend; 12-month trend
    assert 'class="tiles"' in text and "Paid (USD)" in text  # the headline
    assert "claude-sonnet-4.5</text>" in text  # full model names under the bars
    assert "@page { size: A4" in text
    assert "<script" not in text and "http://x" not in text.replace("&quot;http://x&quot;", "")
    assert "<link" not in text and "src=" not in text

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium must be installed: scripts/setup.sh installs it"
    for size in ((1400, 1000), (390, 844)):  # desktop and phone width
        png = tmp_path / f"november-{size[0]}.png"
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--screenshot={png}",
             f"--window-size={size[0]},{size[1]}", html.as_uri()],
            check=True, capture_output=True, timeout=120)
        width, height, distinct = png_pixels(png)
        assert (width, height) == size
        assert distinct > 16  # a blank page decodes to one or two byte values

