# The contract: `make demo` and `make test` work on a fresh machine with python3 and make.
.PHONY: demo test test-shuffled test-fast fuzz lint lock golden snapshot bench bench-smoke clean

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEMO := demo-app
# Two workers: the suite is mostly subprocesses (servers, generated projects).
PYTEST_WORKERS ?= 2

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install the venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# The suite installs the versions pinned in tests/constraints.txt (`make lock` refreshes them).
CONSTRAINTS := tests/constraints.txt

$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@ $(VENV)/.installed-base

# Generate ./demo-app on the embedded default (SQLite, no servers), then run the generator's
# own next steps exactly as it prints them, in one shell: a venv of the demo's own, install,
# migrate, test, serve (PORT picks the port: uvicorn reads UVICORN_PORT, granian, the default
# server, GRANIAN_PORT; a demo made by an older version may run either). The generator writes
# .env with a fresh key.
# A second run reuses the project and its steps; `make clean` starts over.
DEMO_JSON := $(VENV)/demo.json
demo: $(VENV)/.installed-base
	@if [ -d $(DEMO) ] && [ -f $(DEMO_JSON) ]; then echo "$(DEMO) exists; running its next steps again"; \
	else $(BIN)/create-fastapi-app $(DEMO) --db sqlite --no-redis --auth jwt --layout flat --json >$(DEMO_JSON).new \
		&& mv $(DEMO_JSON).new $(DEMO_JSON); fi
	$(BIN)/python -c "import json, sys; print('\n'.join(json.load(sys.stdin)['next_steps']))" <$(DEMO_JSON) >$(VENV)/demo-steps.sh
	@echo "Next steps of $(DEMO) ($(VENV)/demo-steps.sh), then serving on http://127.0.0.1:$(PORT) (Ctrl-C to stop):"
	@sed 's/^/  /' $(VENV)/demo-steps.sh
	@echo "  API docs: http://127.0.0.1:$(PORT)/docs  Readiness: http://127.0.0.1:$(PORT)/health/ready"
	UVICORN_PORT=$(PORT) GRANIAN_PORT=$(PORT) exec bash -e $(VENV)/demo-steps.sh

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

# The whole suite in a shuffled order (pytest-randomly), to catch tests that depend on the
# order they run in. The seed is printed at the top; repeat a run with SEED=N.
SEED ?=
test-shuffled: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -p randomly $(if $(SEED),--randomly-seed=$(SEED))

# The suite without the generated-project matrix and other slow tests.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow"

# The schema fuzzing with a fresh seed each run (`make test` always sends the same requests);
# the seed is in the figures at the end, and FUZZ_SEED=N replays that run.
FUZZ_SEED ?= random
fuzz: $(VENV)/.installed-dev
	FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest tests/test_reliability_fuzz.py -n $(PYTEST_WORKERS) --dist loadgroup

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check scripts tests
	$(BIN)/ruff format --check scripts tests
	$(BIN)/mypy

# Pin the newest releases that satisfy pyproject.toml (dev and bench extras) for the suite.
# uv resolves for every platform at once; run it after changing a dependency.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --universal \
		--python-version 3.11 --no-header --quiet -o $(CONSTRAINTS)

# Rewrite the golden copies of generated projects after an intended template change.
golden: $(VENV)/.installed-dev
	$(BIN)/python tests/golden.py refresh

# Rewrite the current version's snapshot (what `fastapi-patterns update` rebuilds it from) after
# a template or rendering change; released versions' snapshots are never rewritten.
snapshot: $(VENV)/.installed-base
	$(BIN)/python scripts/release_snapshot.py

# Benchmarks (bench/README.md); not part of `make test` (tests/test_bench_smoke.py runs the smoke mode).
$(VENV)/.installed-bench: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev,bench]'
	@touch $@ $(VENV)/.installed-dev $(VENV)/.installed-base

bench: $(VENV)/.installed-bench
	sh bench/ensure-tools.sh
	$(BIN)/python bench/run.py

bench-smoke: $(VENV)/.installed-bench
	sh bench/ensure-tools.sh
	$(BIN)/python bench/run.py --smoke

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
