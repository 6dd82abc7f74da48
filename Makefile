# Evo-TODO: `make run` serves the API on http://127.0.0.1:8000 (and runs the worker beside it), `make test` runs
# lint and the test suite.
# Both create the virtualenv in .venv and install requirements.txt when needed; `make test` also installs
# the Node packages of the Better Auth interop fixture, the TypeScript client and the SPA when npm is available.
# `make web` serves the SPA with the API and a demo Better Auth (web/README.md).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

FIXTURE := interop/better-auth
CLIENT := clients/typescript
WEB := web

.PHONY: run demo web test bench lint format install interop-deps client cluster cluster-test cluster-deps

run: install .env
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	@echo "Demo data and a token: make demo"
	@# The worker (events, webhooks, reminders) beside the server, on the same database; both stop together.
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py run_worker & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The SPA (web/) with the API (SQLite, as `make run`) and a demo Better Auth server, until Ctrl-C; it prints the
# URL to open. WEB_ARGS="--web-port 5174 --jwt-expiration 30s" changes ports or the tokens' lifetime.
web: install .env interop-deps
	@command -v npm >/dev/null 2>&1 || { echo "make web needs Node.js 20.19+ and npm" >&2; exit 1; }
	$(BIN)/python -m web.serve --api-port $(PORT) $(WEB_ARGS)

# Demo users with tasks, and how to get a token for each (idempotent).
demo: install .env
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py seed_demo

# A first run writes a development .env: debug on and a fresh random BETTER_AUTH_SECRET for mint_token.
.env:
	$(BIN)/python -c "import secrets; print('# Development settings written by make run (see .env.example).\nDJANGO_DEBUG=true\nBETTER_AUTH_SECRET=' + secrets.token_urlsafe(48))" > .env
	@echo "Wrote a development .env; .env.example explains every variable."

test: install lint interop-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# A local deployment: nginx, gunicorn nodes, PgBouncer, its own PostgreSQL and Redis, until Ctrl-C
# (deploy/README.md; CLUSTER_ARGS="--nodes 3"). The fault tests run against it: `make cluster-test`.
cluster: install cluster-deps
	$(BIN)/python -m deploy.cluster $(CLUSTER_ARGS)

cluster-test: install cluster-deps
	$(BIN)/pytest deploy/tests -m cluster $(PYTEST_ARGS)

# Debian's nginx, PgBouncer, PostgreSQL 15 server binaries and faketime, installed when missing (as root).
cluster-deps:
	@if ! command -v nginx >/dev/null 2>&1 || ! command -v pgbouncer >/dev/null 2>&1 \
		|| ! command -v faketime >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1 \
		|| ! test -x /usr/lib/postgresql/15/bin/initdb; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			nginx pgbouncer faketime redis-server postgresql-15; \
	fi

# The benchmark (needs PostgreSQL; see bench/README.md).
bench: install
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(VENV)/.installed

# The Node packages (Node.js 20+) of the Better Auth server of the interop tests, of the TypeScript client
# (its schema drift check, tsc and live tests) and of the SPA (its build and browser tests, which build it afresh
# each run); without npm those tests skip and say why.
interop-deps:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(FIXTURE)/node_modules/.installed $(CLIENT)/node_modules/.installed \
			$(WEB)/node_modules/.installed; \
	else \
		echo "npm not found: the Better Auth interop, TypeScript client and browser tests will be skipped"; \
	fi

$(FIXTURE)/node_modules/.installed: $(FIXTURE)/package-lock.json $(FIXTURE)/package.json
	cd $(FIXTURE) && npm ci --no-audit --no-fund
	touch $@

# The TypeScript client's schema and types, generated again from the code, then type-checked
# (clients/typescript/README.md); commit what changed.
client: install
	$(MAKE) --no-print-directory $(CLIENT)/node_modules/.installed
	cd $(CLIENT) && PYTHON=$(CURDIR)/$(BIN)/python npm run schema && npm run generate && npm run check

$(CLIENT)/node_modules/.installed: $(CLIENT)/package-lock.json $(CLIENT)/package.json
	cd $(CLIENT) && npm ci --no-audit --no-fund
	touch $@

# The SPA links the client (a file: dependency), whose own packages it builds with.
$(WEB)/node_modules/.installed: $(WEB)/package-lock.json $(WEB)/package.json $(CLIENT)/node_modules/.installed
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@
