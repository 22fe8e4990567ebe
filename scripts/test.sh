#!/usr/bin/env bash
# Install what is needed and run every test: lint and types, then the whole suite on SQLite,
# then the database-facing suite again on PostgreSQL (started here if it is down); two pytest
# workers each (the suites are mostly waiting on databases and HTTP).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> lint, types, import contracts"
scripts/lint.sh
scripts/pg.sh
export PYTHONDONTWRITEBYTECODE=1
echo "==> tests on SQLite"
.venv/bin/pytest -q -p no:cacheprovider --db sqlite -n 2 --dist loadfile --ignore tests/e2e
echo "==> browser tests (headless Chromium; a demo stack of their own)"
.venv/bin/pytest -q -p no:cacheprovider --db sqlite -n 2 --dist loadfile tests/e2e
echo "==> tests on PostgreSQL"
.venv/bin/pytest -q -p no:cacheprovider --db postgresql tests/integration -n 2 --dist loadfile
