# The two commands of the README: `make run` and `make test`. Each creates .venv and installs the
# pinned packages (from PyPI) when they are missing; nothing is downloaded at run time.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
# pytest-xdist processes: most tests wait on servers (Temporal, the simulator, the stack), so four
# keep two cores busy; TEST_WORKERS=0 runs in one process (e.g. to debug).
TEST_WORKERS ?= 4
# A stock TOPdesk client the tests drive against the simulator (tests/test_topdesk_stock_client.py):
# only its REST client is used, which needs `requests`; its MCP server's ~50 packages are not.
NO_DEPS := topdesk-mcp==0.8.20

.PHONY: run test install bench bench-watch bench-slow-topdesk faults record-histories clean

run: $(STAMP)
	$(BIN)/saksflyt dev --demo $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy domain workflows activities adapters workers
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(TEST_WORKERS) $(ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(NO_DEPS)
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

bench-watch: $(STAMP)
	$(BIN)/python -m bench.watch_load $(ARGS)

bench-slow-topdesk: $(STAMP)
	$(BIN)/python -m bench.intake_slow_topdesk $(ARGS)

faults: $(STAMP)
	$(BIN)/python -m tests.faults $(ARGS)

record-histories: $(STAMP)
	$(BIN)/python -m tests.histories.record

clean:
	rm -rf .saksflyt .pytest_cache .ruff_cache .mypy_cache
