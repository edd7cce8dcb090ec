# The contract: `make demo` and `make test` work on a fresh machine with python3 and make.
.PHONY: demo test test-fast lint lock golden bench bench-smoke clean

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

# Generate ./demo-app on the embedded default (SQLite, no servers), test it, serve it.
demo: $(VENV)/.installed-base
	$(BIN)/create-fastapi-app $(DEMO) --db sqlite --no-redis --auth jwt --layout flat
	$(BIN)/python -m pip install --quiet -e ./$(DEMO) --group ./$(DEMO)/pyproject.toml:dev
	@test -f $(DEMO)/.env || { cp $(DEMO)/.env.example $(DEMO)/.env && \
		$(BIN)/python -c "import pathlib, re, secrets; p = pathlib.Path('$(DEMO)/.env'); \
		p.write_text(re.sub(r'(?m)^SECRET_KEY=.*$$', 'SECRET_KEY=' + secrets.token_urlsafe(48), p.read_text()))"; }
	cd $(DEMO) && ../$(BIN)/python -m pytest -q -p no:cacheprovider
	cd $(DEMO) && ../$(BIN)/alembic upgrade head
	@echo ""
	@echo "Serving $(DEMO) on http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	@echo "  API docs:  http://127.0.0.1:$(PORT)/docs"
	@echo "  Readiness: http://127.0.0.1:$(PORT)/health/ready"
	cd $(DEMO) && exec ../$(BIN)/uvicorn demo_app.main:app --host 127.0.0.1 --port $(PORT) --no-access-log

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

# The suite without the generated-project matrix and other slow tests.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow"

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
