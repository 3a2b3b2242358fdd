# ACE FlightDeck warehouse: every target people use; CI calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
DBT_ARGS := --project-dir dbt_project --profiles-dir .
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export RUNTIME__DLTHUB_TELEMETRY := false

.DEFAULT_GOAL := help
.PHONY: help setup browser demo run test lint lint-sql lint-dbt docs report status bench sql build-spark clean
# root installs system packages directly; anyone else through sudo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed ## create .venv and install the project with its dev tools

demo: setup ## start the local API stand-in, run the main job end to end, show the data
	$(PY) -m extract demo

run: setup ## the main job: sync, gap repair, dbt build, cold-tier move, publish, report (stand-in without ACE_API_KEY)
	$(PY) -m extract run

report: setup ## write the data-quality report (report/index.html) from the published snapshot
	$(PY) -m extract report --warehouse $(or $(PUBLISHED_DIR),published)/current.duckdb

status: setup ## per-site checkpoints, lag, freshness, gaps, table sizes; exit status for monitoring
	$(PY) -m extract status

browser: ## install headless Chromium (Debian's chromium package) for the browser tests
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

test: setup browser ## run the whole test suite (installs what it needs first)
	$(PY) -m pytest

# lint compiles the dbt project against a scratch warehouse and lake, never the real ones
LINT_DIR := dbt_project/target/lint
LINT_ENV := WAREHOUSE_PATH=$(LINT_DIR)/warehouse.duckdb LAKE_DIR=$(LINT_DIR)/lake

lint: setup lint-sql lint-dbt ## ruff, mypy strict, sqlfluff and the dbt structure rules: all at 0 findings
	$(VENV)/bin/ruff check extract tests bench
	$(VENV)/bin/mypy

lint-sql: setup ## sqlfluff over the dbt models (.sqlfluff: dbt templater, DuckDB dialect)
	@mkdir -p $(LINT_DIR)
	$(LINT_ENV) $(VENV)/bin/sqlfluff lint dbt_project/models --nocolor

lint-dbt: setup ## the dbt structure rules over the manifest (tests/lint_dbt.py)
	@mkdir -p $(LINT_DIR)
	$(LINT_ENV) $(DBT) parse $(DBT_ARGS) --target-path $(CURDIR)/$(LINT_DIR)/target --quiet
	$(PY) tests/lint_dbt.py $(LINT_DIR)/target/manifest.json

docs: setup ## build the static dbt docs site (dbt_project/target/static_index.html)
	$(DBT) docs generate --static $(DBT_ARGS)

bench: setup ## extraction vs dlt, warehouse incremental builds, readers, analyst query latency
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/bench_extract.py
	$(PY) bench/bench_warehouse.py
	$(PY) bench/bench_readers.py
	$(PY) bench/bench_queries.py

build-spark: setup ## the dbt project on Spark (session mode), then spark-views.duckdb for analysts (docs/spark.md)
	$(PY) -m extract build-spark

sql: setup ## a read-only SQL session on the published warehouse (published/current.duckdb)
	$(PY) -m extract sql

clean: ## remove the venv, the demo lake and the warehouse
	rm -rf $(VENV) lake warehouse.duckdb published report dbt_project/target dbt_project/logs \
		spark-warehouse metastore_db metastore_db.log spark-views.duckdb
