# Two commands do all the set-up on a fresh machine:
#   make run    create .venv, install, (compute a demo run if the store is empty), open the dashboard
#   make test   create .venv, install runtime + test dependencies, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# The dashboard's embedded default: a demo run on SST-2 from ../shared when it is there.
PRUNESCOPE_DEMO_DATA ?= $(if $(wildcard ../shared/data/sst2/train.csv),../shared/data/sst2,)
export PRUNESCOPE_DEMO_DATA

.PHONY: run test test-fast bench clean-venv

$(VENV)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet "setuptools>=68"
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) -m prune_core serve --port $(PORT)

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

# Everything but the real-model and browser tests (a quick loop while editing).
test-fast: $(VENV)/.dev
	$(PY) -m pytest -m "not slow and not browser"

bench: $(VENV)/.dev
	$(PY) bench/bench_compute.py
	$(PY) bench/bench_selectors.py
	$(PY) bench/bench_evaluate.py
	$(PY) bench/bench_dashboard.py

clean-venv:
	rm -rf $(VENV)
