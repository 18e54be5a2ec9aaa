# Félag: `make run` serves the app on embedded defaults; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-dev frontend translations migrate seed lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
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
	$(BIN)/flask seed-demo --if-empty
	@echo ""
	@echo "  Félag runs at http://$(HOST):$(PORT)  (admin login: admin@felag.local / felag-demo-admin)"
	@echo ""
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/python -m pytest -q tests

lint: install-dev
	$(BIN)/ruff check app tests bench config.py wsgi.py

bench: install-dev
	@cat bench/README.md

clean:
	rm -rf $(VENV) node_modules app/static/vendor instance
