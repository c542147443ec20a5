# visitcal: `make run` serves the schedules, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where `make run` listens, set on the command line only (zsh exports HOST as the machine name):
# `make run PORT=8123`, `make run HOST=0.0.0.0` (reachable from other machines).
HOST := 127.0.0.1
PORT := 8000

.PHONY: run demo test lint typecheck pytest install dev js clean bench messages catalogs

# gettext catalogs (service/i18n): `make messages` extracts the texts to translate into the
# template and updates every language's .po; install compiles each .po into its .mo (no network).
LOCALES := service/i18n/locale
CATALOGS := $(wildcard $(LOCALES)/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "visitcal needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --silent
	@touch $@

$(LOCALES)/%/LC_MESSAGES/messages.mo: $(LOCALES)/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel -q compile -D messages -d $(LOCALES) -l $*

catalogs: $(COMPILED)

messages: dev
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output \
		--msgid-bugs-address="" --project=visitcal -o service/i18n/messages.pot .
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete -D messages \
		-i service/i18n/messages.pot -d $(LOCALES)

install: $(VENV)/.installed catalogs
dev: $(VENV)/.dev-installed catalogs

js:
	@if [ ! -f tests/js/package.json ]; then :; elif command -v npm >/dev/null; then $(MAKE) --no-print-directory tests/js/node_modules/.installed; \
	else echo "npm not found: the ical.js interoperability tests will skip"; fi

run: install
	$(BIN)/visitcal up --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/visitcal demo

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev
	$(BIN)/mypy

pytest: dev js
	$(BIN)/pytest

test: lint typecheck pytest

bench: dev
	$(BIN)/python bench/feeds.py

clean:
	rm -rf $(VENV) var tests/js/node_modules .mypy_cache .ruff_cache .pytest_cache \
		visitcal.egg-info test-artifacts
