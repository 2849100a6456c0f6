# The two commands: `make demo` and `make test`. Both set up everything they need, idempotently.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip lists each unreachable extra index once per package; that noise hides real errors.
QUIET_PIP := grep -v -e 'is ignored: it is neither a file nor a directory' || true
SRC := runyard tests benchmarks

# The dashboard: `npm ci` when the lock file changes, a build when web/ does (design.md §2).
WEB_DEPS := web/node_modules/.installed
WEB_STAMP := runyard/server/static/.built
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/package.json \
	web/tsconfig.json web/vite.config.ts

.PHONY: setup system-deps test lint fmt typecheck pytest demo bench clean web screenshots

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,examples,evaluation,ray]' 2>&1 | $(QUIET_PIP)
	$(BIN)/python -c 'import runyard, torch, fastapi'
	touch $@

system-deps:
	@scripts/system-deps.sh

setup: $(STAMP) system-deps web

$(WEB_DEPS): web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_STAMP): $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run build --silent
	touch $@

web: $(WEB_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

fmt: $(STAMP)
	$(BIN)/ruff check --fix $(SRC)
	$(BIN)/ruff format $(SRC)

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (pytest-xdist): the suite waits on subprocesses, servers and browsers as much as
# it computes, and takes 13 min instead of 19.5 on two cores. Every `ray` test goes to one
# worker (tests/ray/conftest.py), which starts the one Ray cluster. `make pytest PYTEST_ARGS=`
# runs it in one process.
PYTEST_ARGS ?= -n 2 --dist loadgroup

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

test: setup lint typecheck pytest

demo: $(STAMP) web
	$(BIN)/runyard demo

bench: $(STAMP) web
	scripts/bench-venv.sh
	$(BIN)/python benchmarks/runs_bench.py
	$(BIN)/python benchmarks/ingest_bench.py
	$(BIN)/python benchmarks/sdk_log_bench.py
	$(BIN)/python benchmarks/scheduler_bench.py
	$(BIN)/python benchmarks/dataset_bench.py
	$(BIN)/python benchmarks/telemetry_bench.py
	$(BIN)/python benchmarks/ui_bench.py
	$(BIN)/python benchmarks/sweep_bench.py

screenshots: setup
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .bench-venv .pytest_cache .mypy_cache .ruff_cache web/node_modules runyard/server/static
