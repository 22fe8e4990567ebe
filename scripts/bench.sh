#!/usr/bin/env bash
# Benchmarks: payment hot paths over HTTP (SQLite and PostgreSQL), then e-receipt issuing and
# PDF rendering. Each prints a Markdown table; see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/pg.sh
.venv/bin/python -m bench.run --repeat 3 "$@"
.venv/bin/python -m bench.instructions --requests 200  # counted by callgrind (issue 8)
.venv/bin/python -m bench.receipts --db postgresql --count 2000 --procs 2
.venv/bin/python -m bench.receipts --db sqlite --count 2000 --procs 2
.venv/bin/python -m bench.kiosk --journeys 20  # kiosk journey (issue 13)
.venv/bin/python -m bench.refunds --journeys 20  # refund journey (issue 11)
.venv/bin/python -m bench.pos --journeys 30 --db sqlite  # window POS journey (issue 13)
.venv/bin/python -m bench.pos --journeys 30 --db postgresql
