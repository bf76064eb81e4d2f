# counter: two commands from a fresh clone.
#   make run    the teller console on SQLite with demo data
#   make run-network   the same console, its acquirer, identity service and SMS gateway
#                      being simulators over HTTP on 127.0.0.1:8101-8103 (docs/integration.md)
#   make test   ruff, mypy --strict, pytest (PostgreSQL and browser tests included)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export COUNTER_DEMO_MODE ?= true

.PHONY: run run-network demo-network test lint typecheck pytest bench bench-engine bench-slip system-deps system-deps-test \
        readme-images clean demo diagrams

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,postgres,bench]'
	@touch $(STAMP)

system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

run: system-deps $(STAMP)
	$(BIN)/counter db upgrade
	$(BIN)/counter demo-data
	$(BIN)/counter serve --host 127.0.0.1 --port 8000

# The simulators run as children of this recipe's shell and are stopped, by their ids,
# when the console stops (Ctrl-C) or fails to start.
NETWORK := COUNTER_ACQUIRER_ADAPTER=http COUNTER_IDENTITY_ADAPTER=http COUNTER_SMS_ADAPTER=http \
	COUNTER_ACQUIRER_URL=http://127.0.0.1:8101 COUNTER_IDENTITY_URL=http://127.0.0.1:8102 \
	COUNTER_SMS_URL=http://127.0.0.1:8103
SIMULATORS = pids=""; \
	for peer in acquirer:8101 identity:8102 sms:8103; do \
	    $(BIN)/counter simulate $${peer%%:*} --port $${peer\#\#*:} & pids="$$pids $$!"; \
	done; \
	trap 'kill $$pids 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/python -m counter.adapters.http.sim_server --wait 8101 8102 8103;

run-network: system-deps $(STAMP)
	$(BIN)/counter db upgrade
	$(BIN)/counter demo-data
	@$(SIMULATORS) $(NETWORK) $(BIN)/counter serve --host 127.0.0.1 --port 8000

demo-network: export COUNTER_DATABASE_URL = sqlite:///$(CURDIR)/var/demo-network.db
demo-network: system-deps $(STAMP)
	$(BIN)/counter db upgrade
	$(BIN)/counter demo-data
	@$(SIMULATORS) $(NETWORK) $(BIN)/counter demo

# The demo closes its branch's day, so it keeps its own database: `make run` stays usable.
demo: export COUNTER_DATABASE_URL = sqlite:///$(CURDIR)/var/demo.db
demo: system-deps $(STAMP)
	$(BIN)/counter db upgrade
	$(BIN)/counter demo-data
	$(BIN)/counter demo

lint: $(STAMP)
	$(BIN)/ruff check counter tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict counter

pytest: system-deps-test $(STAMP)
	COUNTER_TEST_POSTGRES_URL="$${COUNTER_TEST_POSTGRES_URL:-$$(scripts/postgres-test.sh)}" \
	    $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench

bench-engine: $(STAMP)
	$(BIN)/python -m bench.engine

bench-slip: system-deps $(STAMP)
	$(BIN)/python -m bench.slip

# The README's screenshots: the browser tests write them only when asked to (never in `make test`).
readme-images: system-deps-test $(STAMP)
	$(BIN)/python -m counter.cli slip-sample --out var/sample-slip.pdf
	pdftoppm -png -r 80 -f 1 -l 1 -singlefile var/sample-slip.pdf docs/images/slip-page1
	$(BIN)/python -m counter.cli slip-sample --out var/rare-slip.pdf \
	    --merchant "𠮷祥五金店·𰻞𰻞面馆(䶮记)𪚥" --customer "𠮷田·阿依古丽"
	pdftoppm -png -r 110 -f 1 -l 1 -x 0 -y 0 -W 640 -H 560 -singlefile var/rare-slip.pdf \
	    docs/images/slip-rare-characters
	COUNTER_README_IMAGES=1 $(BIN)/pytest -q -m browser \
	    tests/web/test_console_browser.py tests/web/test_browser.py \
	    tests/web/test_portal_browser.py tests/branchday/test_browser.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

diagrams: $(STAMP)
	$(BIN)/python scripts/diagrams.py
