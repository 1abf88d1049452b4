# Two commands on a fresh machine: `make demo` runs the demo, `make test` runs the checks.
# Each builds the virtualenv first (Python 3.11+ from PATH, packages from PyPI).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint unit system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

## Run the daemon on its embedded default: SQLite, the simulated demo channel, the web UI.
demo: $(STAMP)
	$(BIN)/socmon demo

## Lint, type-check and run the whole suite (on PostgreSQL too when SOCMON_TEST_DATABASE_URL is set).
test: $(STAMP) system-deps lint unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

unit: $(STAMP)
	$(BIN)/pytest

## Debian packages the browser and PDF tests use; installed only when missing and we are root.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v pdftotext >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium poppler-utils fonts-dejavu-core >/dev/null; \
	  else \
	    echo "note: install chromium and poppler-utils for the browser and PDF tests"; \
	  fi; \
	fi

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
