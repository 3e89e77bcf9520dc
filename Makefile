# Wotu — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
WOTU := $(BIN)/wotu
PG_URL ?= postgres://postgres@127.0.0.1:5432/wotu
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test install lint typecheck migrations-check deploy-check test-sqlite test-postgres messages assets clean

demo: install
	$(WOTU) demo

install: $(VENV)/.installed node_modules/.installed messages

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11 / Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

messages: $(VENV)/.installed
	@cd wotu && ../$(WOTU) compilemessages --ignore '.venv' -v0

test: install lint typecheck migrations-check deploy-check test-sqlite test-postgres

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy wotu benchmarks

migrations-check:
	WOTU_VAR_DIR=$$(mktemp -d) $(WOTU) makemigrations --check --dry-run

deploy-check:
	DJANGO_SETTINGS_MODULE=wotu.settings_production \
	SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))') \
	WOTU_AUDIT_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(40))') \
	$(WOTU) check --deploy --fail-level WARNING

test-sqlite:
	DATABASE_URL= $(BIN)/pytest -p no:cacheprovider -n 2

# PostgreSQL when one is reachable; under CI=true it must be.
test-postgres:
	@if $(BIN)/python -m wotu.core.pgcheck "$(PG_URL)"; then \
		DATABASE_URL=$(PG_URL) $(BIN)/pytest -p no:cacheprovider -n 2; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true: PostgreSQL at $(PG_URL) is required but not reachable"; exit 1; \
	else \
		echo "PostgreSQL not reachable at $(PG_URL): skipping the PostgreSQL run"; \
	fi

clean:
	rm -rf $(VENV) node_modules var/staticfiles
