#!/usr/bin/env bash
# Install what is needed and run the seeded demo (SQLite by default; web + worker + emulators).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/publicpay demo "$@"
