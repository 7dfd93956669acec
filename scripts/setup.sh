#!/usr/bin/env bash
# Installs what holysheep-ledger needs to build and test on a fresh Debian machine with the Swift toolchain:
# system libraries (SQLite, libcurl), the PostgreSQL server (the PostgreSQL ledger's tests start a throwaway
# cluster from it: scripts/pg-cluster.sh), LibreOffice Calc and Chromium for the spreadsheet and HTML checks,
# and a Python venv (.venv) with the official `openai` and `anthropic` SDKs and pytest for the end-to-end tests.
# Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libsqlite3-dev libcurl4-openssl-dev sqlite3 postgresql ${HSL_SETUP_EXTRA:-libreoffice-calc-nogui chromium fonts-dejavu-core}; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "${HSL_SETUP_PYTHON:-1}" = "1" ]; then
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import openai, anthropic, pytest' 2>/dev/null; then
        echo "setup: creating .venv with openai, anthropic and pytest" >&2
        python3 -m venv .venv
        .venv/bin/pip install -q --disable-pip-version-check 'openai>=1.40' 'anthropic>=0.40' 'pytest>=8'
    fi
fi
