# Inverto: `make run` starts everything with demo data; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | sha1sum | cut -c1-12)
PORT ?= 8000
# Tests use their own Redis database so a running `make run` is never disturbed.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist processes (each has its own test database).
TEST_WORKERS ?= 2

.PHONY: help install run codes test lint format bench chromium migrations-check clean

help:
	@echo "make run    start web, worker and beat with demo data on http://127.0.0.1:$(PORT)"
	@echo "make test   install what is needed and run every test"
	@echo "make codes  print fresh second-factor codes for the demo's staff logins"
	@echo "make lint   ruff check, format check, and the import layers (import-linter)"
	@echo "make bench  build a synthetic clinic and print the benchmark figures"

$(STAMP): requirements/base.txt requirements/dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/base.txt -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

# `make run` connects as a role that owns nothing (inverto_app: DML, and only insert and
# read on the audit trail); migrations run as inverto_owner; ensure_database makes both
# as the local superuser. A DATABASE_URL of your own runs as that role alone instead.
ifeq ($(origin DATABASE_URL),undefined)
RUN_DATABASE_URL := postgres://inverto_app@127.0.0.1:5432/clinic
RUN_MIGRATION_DATABASE_URL := $(or $(MIGRATION_DATABASE_URL),postgres://inverto_owner@127.0.0.1:5432/clinic)
else
RUN_DATABASE_URL := $(DATABASE_URL)
RUN_MIGRATION_DATABASE_URL := $(MIGRATION_DATABASE_URL)
endif
RUN_DATABASE_ADMIN_URL := $(or $(DATABASE_ADMIN_URL),postgres://postgres@127.0.0.1:5432/postgres)

run: install
	@export DEBUG=$${DEBUG:-true} REMINDER_SWEEP_SECONDS=$${REMINDER_SWEEP_SECONDS:-60} \
	  DATABASE_URL="$(RUN_DATABASE_URL)"; \
	MIGRATION_DATABASE_URL="$(RUN_MIGRATION_DATABASE_URL)" DATABASE_ADMIN_URL="$(RUN_DATABASE_ADMIN_URL)" \
	  $(PY) manage.py ensure_database >&2 && \
	MIGRATION_DATABASE_URL="$(RUN_MIGRATION_DATABASE_URL)" $(PY) manage.py migrate --no-input -v0 && \
	$(PY) manage.py demo_data && \
	echo "" && \
	echo "  Portal      http://127.0.0.1:$(PORT)/" && \
	echo "  Admin       http://127.0.0.1:$(PORT)/admin/" && \
	echo "  Reports     http://127.0.0.1:$(PORT)/reports/" && \
	echo "  API docs    http://127.0.0.1:$(PORT)/api/docs/" && \
	echo "  Health      http://127.0.0.1:$(PORT)/healthz" && \
	echo "  Ctrl-C stops web, worker and beat." && echo "" && \
	PORT=$(PORT) exec $(VENV)/bin/honcho start -f Procfile

# Fresh second-factor codes for the demo's staff logins (while `make run` is up).
codes: install
	@DEBUG=true DATABASE_URL="$(RUN_DATABASE_URL)" $(PY) manage.py demo_data --codes

test: install chromium
	REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The bench's own database and Redis db: it never touches the demo's (clinic, db 0).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/inverto_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14

bench: install
	@export DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL); \
	$(PY) manage.py ensure_database >&2 && \
	$(PY) manage.py migrate --no-input -v0 && \
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
