#!/usr/bin/env bash
# Runs every test: installs what the tests need (scripts/setup.sh), builds, runs the Swift test suites,
# then the end-to-end tests (official openai SDK, LibreOffice, Chromium) against the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

swift build --build-tests

# A throwaway PostgreSQL cluster on 127.0.0.1 for the PostgreSQL ledger's tests (Tests/LedgerPostgresTests fail
# without it), stopped and deleted when this script exits.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/hsl-pg.XXXXXX")
trap 'bash scripts/pg-cluster.sh stop "$pg_dir"' EXIT
HOLYSHEEP_LEDGER_TEST_POSTGRES_URL=$(bash scripts/pg-cluster.sh start "$pg_dir")
export HOLYSHEEP_LEDGER_TEST_POSTGRES_URL

swift test --skip-build --parallel --num-workers 2

# End-to-end: drive the built binary with real clients.
export HOLYSHEEP_LEDGER_BIN="$(swift build --show-bin-path)/holysheep-ledger"
set +e
.venv/bin/python -m pytest -q e2e
status=$?
set -e
# pytest exits 5 when it collects no tests; that is a failure here too (every e2e file must run).
exit $status
