#!/usr/bin/env bash
# Long schemathesis run over every JSON API in /openapi.json, signed like a business system,
# on SQLite and PostgreSQL (the test command runs the same test with a few examples).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/pg.sh
export PYTHONDONTWRITEBYTECODE=1
export PUBLICPAY_FUZZ_EXAMPLES="${PUBLICPAY_FUZZ_EXAMPLES:-500}"
.venv/bin/pytest -q -p no:cacheprovider --db sqlite -n 2 tests/integration/test_api_fuzz.py "$@"
.venv/bin/pytest -q -p no:cacheprovider --db postgresql -n 2 tests/integration/test_api_fuzz.py "$@"
