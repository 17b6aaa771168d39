# The two commands the README promises: `make demo` and `make test`. Both set everything up from nothing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install postgres chromium test demo bench lint typecheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

postgres:
	bash .ci/ensure-postgres

chromium:
	bash .ci/ensure-chromium

test: install postgres chromium
	$(PY) -m ruff check recorder analytics migrations tests
	$(PY) -m mypy
	$(PY) -m pytest -q

demo: install
	$(PY) -m recorder demo --db sqlite:///recorder.db

bench: install postgres chromium
	$(PY) -m pip install -q -e '.[dev,postgres,bench]'
	$(PY) -m tests.benchmarks

lint: install
	$(PY) -m ruff check recorder analytics migrations tests
	$(PY) -m mypy

typecheck: install
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
