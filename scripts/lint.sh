#!/usr/bin/env bash
# ruff (lint + format check), mypy strict (src, and the in-memory fakes against the Protocols they
# implement), import-linter layer contracts, alembic check.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src/publicpay
.venv/bin/mypy tests/fakes tests/unit/services_kit.py
.venv/bin/lint-imports
