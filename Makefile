# Two commands on a fresh machine: `make demo` runs the demo, `make test` runs the checks.
# Each builds the virtualenv first (Python 3.11+ from PATH, packages from PyPI).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint unit system-deps bench clean audit lock

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
	$(BIN)/lint-imports
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

## Known vulnerabilities in the locked runtime dependencies (pip-audit over requirements.lock).
## Needs a reachable vulnerability database: where there is none it prints "NOT AUDITED" and
## exits 0, so it can sit in a pipeline. Not part of `make test`.
audit: $(STAMP)
	$(BIN)/python tools/audit_lock.py requirements.lock

## Re-pin the runtime dependencies (requirements.lock) and the build backend
## (requirements-build.lock) with hashes, for the image's Python 3.11 on Linux. Existing pins
## stay unless UPGRADE=--upgrade. pip-tools is installed on demand: no test needs it.
UPGRADE ?=
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
              --no-emit-find-links $(UPGRADE)
lock: $(STAMP)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) or sys.platform != "linux")' \
	  || { echo "make lock: pins are for Python 3.11 on Linux (the image's); use PYTHON=python3.11 there"; exit 1; }
	$(BIN)/pip install --quiet 'pip-tools>=7.4,<8'
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file=requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --only-build-deps --build-deps-for=wheel \
	  --output-file=requirements-build.lock pyproject.toml

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
