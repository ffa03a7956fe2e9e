# erp-bridge: `make demo` runs the product on SQLite with the built-in sandbox store;
# `make test` runs the whole test suite. Both create .venv on first use.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-all bench lint install clean

$(INSTALLED): pyproject.toml
	@test -n "$(PYTHON)" || { echo "erp-bridge needs Python 3.11 or newer (python3.11+ not found on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(PY) manage.py demo

test: $(INSTALLED)
	$(PY) -m pytest

test-all: test

# Prints figures against the targets of issue 7 and writes var/bench/latest.json (about 8 minutes).
bench: $(INSTALLED)
	$(PY) manage.py bench

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm
