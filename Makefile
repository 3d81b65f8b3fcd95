# Two commands do all the set-up on a fresh machine:
#   make up     install into .venv and run the embedded default (http://127.0.0.1:8000)
#   make test   install into .venv (with the test extra) and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install up test lint bench-ingest bench-store bench-webhooks bench-page clean

# Two stamps: running Lookout needs only its runtime dependencies; the test extra (the
# broker, the linters, the type checker ...) comes with `make test`, `make lint` and
# `make install` (what developers and CI run).
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-extra: $(VENV)/.runtime
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.test-extra

up: $(VENV)/.runtime
	$(VENV)/bin/lookout up

test: $(VENV)/.test-extra
	$(PY) -m pytest -q --durations=20

lint: $(VENV)/.test-extra
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy schemas bus ingest fusion store api lookout

bench-ingest: $(VENV)/.test-extra
	$(PY) bench/ingest/bench_ingest.py

bench-store: $(VENV)/.test-extra
	$(PY) bench/store/bench_store.py

bench-webhooks: $(VENV)/.test-extra
	$(PY) bench/webhooks/bench_webhooks.py

bench-page: $(VENV)/.test-extra
	$(PY) bench/page/bench_page.py

clean:
	rm -rf $(VENV) .lookout .pytest_cache .mypy_cache .ruff_cache
