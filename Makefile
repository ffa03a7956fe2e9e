# erp-bridge: `make demo` runs the product on SQLite with the built-in sandbox store;
# `make test` runs the whole test suite. Both create .venv on first use.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-heavy test-all bench bench-quick bench-soak lint install clean messages compile-messages

$(INSTALLED): pyproject.toml
	@test -n "$(PYTHON)" || { echo "erp-bridge needs Python 3.11 or newer (python3.11+ not found on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(PY) manage.py demo

# Everyday suite: everything but the heavy reliability matrices (fault, crash, scale-out, budget),
# in parallel worker processes (pytest-xdist; each has its own test database). TEST_WORKERS=0 runs
# it in one process (for pdb, or to see a test's output as it runs).
TEST_WORKERS ?= auto
test: $(INSTALLED)
	$(PY) -m pytest -m "not heavy" -n $(TEST_WORKERS)

# The heavy matrices alone, in one process: each matrix gathers its cases into one report in
# var/reports/, and their timings assume nothing else of the suite runs beside them.
test-heavy: $(INSTALLED)
	$(PY) -m pytest -m heavy -p no:xdist

test-all: test test-heavy

# Prints figures against the targets of issue 17 (docs/performance.md), writes var/bench/latest.json
# and its chart var/bench/latest.svg (about 15 minutes; longer at a fixed low VTEX_CONCURRENCY).
bench: $(INSTALLED)
	$(PY) manage.py bench

# Smaller counts (under three minutes), so that a regression shows; CI runs it: the counts
# (queries, 429s, memory) fail it, the budget share at 200 ms is reported.
bench-quick: $(INSTALLED)
	$(PY) manage.py bench --quick

# About 30 minutes, not in CI: erp-bridge served (gunicorn + two qclusters), orders at 40/s, 200 ms
# answers, 1 % faults, invoices and tracking, a cluster killed halfway. Writes var/bench/soak.json.
SOAK_MINUTES ?= 30
bench-soak: $(INSTALLED)
	$(PY) manage.py bench --soak --minutes $(SOAK_MINUTES)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

# Translations (README "Languages"): extract the strings into locale/pt_BR/LC_MESSAGES/django.po,
# translate the new entries, then compile the .mo that is committed. Both need GNU gettext.
messages: $(INSTALLED)
	$(PY) manage.py makemessages -l pt_BR --no-obsolete --no-wrap --add-location=file -i ".venv/*" -i "tests/*" \
		-i "var/*" -i "bench/*" -i "vtex_sandbox/*" -i "docs/*" -i "*.egg-info/*"

compile-messages:
	msgfmt --check -o locale/pt_BR/LC_MESSAGES/django.mo locale/pt_BR/LC_MESSAGES/django.po

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm
