#!/usr/bin/env bash
# Runs every test: installs what the tests need (scripts/setup.sh), builds (failing on any compiler warning from the
# project's own files), runs the Swift test suites, each fuzz target for a bounded time, then the end-to-end tests
# (official openai SDK, LibreOffice, Chromium) against the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

build_log=$(mktemp)
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/hsl-pg.XXXXXX")
trap 'rm -f "$build_log"; bash scripts/pg-cluster.sh stop "$pg_dir"' EXIT
swift build --build-tests 2>&1 | tee "$build_log"
bash scripts/check-warnings.sh "$build_log"

# A throwaway PostgreSQL cluster on 127.0.0.1 for the PostgreSQL ledger's tests (Tests/LedgerPostgresTests fail
# without it), stopped and deleted when this script exits.
HOLYSHEEP_LEDGER_TEST_POSTGRES_URL=$(bash scripts/pg-cluster.sh start "$pg_dir")
export HOLYSHEEP_LEDGER_TEST_POSTGRES_URL
# The cluster's directory, for the e2e test that restarts the server while serving.
export HOLYSHEEP_LEDGER_TEST_POSTGRES_DIR="$pg_dir"

swift test --skip-build --parallel --num-workers 2

# Fuzzing: every libFuzzer target from its seed corpus (FUZZ_SECONDS each, 20 by default).
bash scripts/fuzz.sh all "${FUZZ_SECONDS:-20}"

# End-to-end: drive the built binary with real clients.
export HOLYSHEEP_LEDGER_BIN="$(swift build --show-bin-path)/holysheep-ledger"
set +e
.venv/bin/python -m pytest -q e2e
status=$?
set -e
# pytest exits 5 when it collects no tests; that is a failure here too (every e2e file must run).
exit $status
