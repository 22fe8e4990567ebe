# Every target calls a script in scripts/ (humans and CI run the same thing).
.PHONY: demo test lint fmt bench fuzz setup

demo:            ## install what is needed and run the seeded demo
	scripts/demo.sh

test:            ## install what is needed and run every test (SQLite and PostgreSQL)
	scripts/test.sh

lint:
	scripts/setup.sh && scripts/lint.sh

fmt:
	.venv/bin/ruff format src tests bench && .venv/bin/ruff check --fix src tests bench

bench:
	scripts/bench.sh

fuzz:            ## long schemathesis run over every JSON API (PUBLICPAY_FUZZ_EXAMPLES, default 500)
	scripts/fuzz.sh

setup:
	scripts/setup.sh
