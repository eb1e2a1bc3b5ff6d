# CellChain — `make help` lists the targets. Two commands matter: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export DJANGO_SETTINGS_MODULE := cellchain.project.settings
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help demo demo-network test test-sqlite test-postgres lint bench messages check-deploy clean venv

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed -E 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev,bench]'
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP) ## create .venv and install everything

messages: $(STAMP) ## compile the zh-Hans/en translation catalogues
	@if command -v msgfmt >/dev/null; then $(PY) -m django compilemessages -v 0 --ignore=.venv --ignore=var; \
	else echo "msgfmt (gettext) not found: using the committed .mo catalogues"; fi

demo: $(STAMP) messages ## migrate a SQLite database under var/, load demo data, serve on 127.0.0.1:8000
	@mkdir -p var
	@$(PY) -m django migrate --noinput -v 0
	@$(PY) -m django demo_load
	@echo "Serving on http://127.0.0.1:8000/  (Ctrl-C stops)"
	@$(PY) -m django runserver 127.0.0.1:8000

demo-network: $(STAMP) messages ## manufacturer :8100, hospital A :8101, hospital B :8102, data under var/network/ (Ctrl-C stops all)
	@mkdir -p var/network
	@$(PY) -m cellchain.core.network demo --base var/network

test: $(STAMP) messages ## run the whole suite on SQLite, then on PostgreSQL when a server answers
	@scripts/ensure-chromium
	@$(MAKE) --no-print-directory test-sqlite
	@url="$$(scripts/postgres-url)"; \
	if [ -n "$$url" ]; then DATABASE_URL="$$url" $(MAKE) --no-print-directory test-postgres; \
	elif [ -n "$$CELLCHAIN_REQUIRE_POSTGRES" ]; then echo "PostgreSQL is required (CI) but none answers on 127.0.0.1:5432" >&2; exit 1; \
	else echo "== No PostgreSQL server answers on 127.0.0.1:5432: the PostgreSQL run was NOT done."; fi

test-sqlite: $(STAMP)
	@echo "== Test suite on SQLite"
	@env -u DATABASE_URL $(PY) -m pytest -q --create-db $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "== Test suite on PostgreSQL ($${DATABASE_URL%%/*}//…)"
	@$(PY) -m pytest -q --create-db $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy on the domain, import contracts, migrations committed
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports
	@$(PY) -m django makemigrations --check --dry-run -v 0

bench: $(STAMP) ## run every bench/bench_*.py; each prints its figures and ratio to a baseline
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

check-deploy: $(STAMP) ## Django's deployment checks with production settings
	@CELLCHAIN_DEBUG=false SECRET_KEY="$$(head -c 48 /dev/urandom | base64)" CELLCHAIN_ALLOWED_HOSTS=cellchain.example.org \
	  CELLCHAIN_BEHIND_PROXY=true $(PY) -m django check --deploy --fail-level WARNING

clean: ## remove the virtual environment and local data
	rm -rf $(VENV) var
