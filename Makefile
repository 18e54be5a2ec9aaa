# Félag: `make run` serves the app on embedded defaults; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

# Python packages come from the hash-locked files only: requirements.txt (runtime) and
# requirements-dev.txt (runtime + development), compiled by `make lock` from requirements.in and
# requirements-dev.in. pip refuses any file whose sha256 is not in the lock.
PIP_INSTALL := $(BIN)/pip install --quiet --require-hashes
# `make lock` resolves against PyPI alone, for every platform, whatever index or find-links this
# machine's pip or uv configuration adds: --no-config drops uv.toml files, `env -u` the UV_* index
# variables (pip's own configuration is never read by uv).
LOCK := env -u UV_INDEX -u UV_INDEX_URL -u UV_DEFAULT_INDEX -u UV_EXTRA_INDEX_URL -u UV_FIND_LINKS \
	$(BIN)/uv pip compile --quiet --no-config --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock"

.PHONY: run test install install-dev frontend translations migrate seed lint bench lock audit clean \
	screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed frontend translations

install-dev: $(VENV)/.installed-dev frontend translations

frontend:
	@if [ -f package.json ]; then \
	  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then npm ci --no-audit --no-fund --loglevel=error; fi; \
	  mkdir -p app/static/vendor; \
	  if [ -f scripts/copy-vendor.sh ]; then sh scripts/copy-vendor.sh; fi; \
	fi

translations: $(VENV)/.installed
	$(BIN)/flask translate compile

migrate: install
	$(BIN)/flask db upgrade

run: migrate
	FLASK_RUN_HOST=$(HOST) FLASK_RUN_PORT=$(PORT) $(BIN)/flask seed-demo --if-empty
	@echo ""
	@echo "  Félag runs at http://$(HOST):$(PORT)  (the demo logins are listed above)"
	@echo ""
	FLASK_RUN_HOST=$(HOST) FLASK_RUN_PORT=$(PORT) $(BIN)/flask run

test: install-dev
	$(BIN)/python -m pytest -q -n auto tests

# The browser tests again, writing their screenshots to docs/screenshots (the README's pictures).
screenshots: install-dev
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -n auto tests/browser

lint: install-dev
	$(BIN)/ruff check app tests bench config.py wsgi.py

bench: install-dev
	@cat bench/README.md

# Re-resolve the locks after editing requirements.in or requirements-dev.in; versions already in the
# locks are kept where the pins allow (`make lock UPGRADE=1` moves every transitive dependency on).
lock: $(VENV)/.installed-dev
	$(LOCK) $(if $(UPGRADE),--upgrade) requirements.in -o requirements.txt
	$(LOCK) $(if $(UPGRADE),--upgrade) requirements-dev.in -o requirements-dev.txt

# Known vulnerabilities in every locked package (pip-audit, PyPI's advisory data). Fails, and says
# so, when that data cannot be reached: an audit that could not look is not a pass.
audit: $(VENV)/.installed-dev
	$(BIN)/python scripts/audit.py requirements.txt requirements-dev.txt

clean:
	rm -rf $(VENV) node_modules app/static/vendor instance
