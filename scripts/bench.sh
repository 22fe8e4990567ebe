#!/usr/bin/env bash
# Benchmarks (prints tables); see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/pg.sh
exec .venv/bin/python -m bench.run "$@"
