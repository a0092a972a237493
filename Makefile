# The commands a newcomer needs. Each target creates what it uses (virtual environment,
# packages, Chromium) on first run; a fresh machine needs only python3, make, git and apt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SAM_VENV := $(VENV)/sam
SAM := $(SAM_VENV)/bin/sam
CHECKOV_VENV := $(VENV)/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# Browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# Template lints (cfn-lint, checkov) are pytest tests marked `lint`, so that they and the proof
# that they bite run once per `make test`: in `make lint`, and never again in the test run.
PYTEST_LINT := CLINIC_CHECKOV=$(CHECKOV) $(BIN)/pytest -m lint tests/infrastructure
PYTEST := $(BIN)/pytest -m "not lint"
# SAM CLI prints a telemetry notice and reports usage unless told not to.
SAM_ENV := SAM_CLI_TELEMETRY=0

.PHONY: help dev test unit integration e2e lint format bench load build deploy clean screenshot

help:  ## list the targets
	@awk -F ':.*## ' '/^[a-z][a-z0-9-]*:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

dev: $(INSTALLED)  ## run the whole product locally (embedded AWS, API, example site); options: DEV_ARGS="--verbose"
	$(BIN)/clinic dev $(DEV_ARGS)

test: lint $(CHROMIUM)  ## everything: every static check, then every test (what CI runs)
	$(PYTEST)

unit: $(INSTALLED)  ## unit tests only (no AWS, a few seconds)
	$(PYTEST) tests/unit

integration: $(INSTALLED)  ## integration tests against moto, resources made from template.yaml
	$(PYTEST) tests/integration

e2e: $(INSTALLED) $(CHROMIUM)  ## the local stack over HTTP and in headless Chromium
	$(PYTEST) tests/e2e

lint: $(INSTALLED) $(CHECKOV)  ## ruff, mypy, bandit; cfn-lint and checkov on the templates; GitHub workflow schema and zizmor
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r functions infrastructure
	$(PYTEST_LINT)

format: $(INSTALLED)  ## apply ruff's formatting and its safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED)  ## measure cold imports, warm latency, AWS calls and cost per route (not a test)
	$(BIN)/python -m bench.run

load: $(INSTALLED)  ## 500 consultation requests through a local stack of its own, then check each lead (not a test)
	$(BIN)/python -m clinic_infra.local.load

screenshot: $(INSTALLED) $(CHROMIUM)  ## refresh docs/example-site.png from a browser run
	CLINIC_SCREENSHOT_DIR=docs $(BIN)/pytest tests/e2e/test_browser.py -k screenshot

build: $(SAM)  ## sam build (Makefile build method: no Docker, no python3.13 needed)
	$(SAM_ENV) $(SAM) build

deploy: build  ## deploy to AWS (asks for parameters the first time); SAM_DEPLOY_ARGS="--config-env staging" for staging
	$(SAM_ENV) $(SAM) deploy --guided $(SAM_DEPLOY_ARGS)

clean:  ## remove everything the targets create (virtual environments, build output, caches)
	rm -rf $(VENV) .aws-sam build .pytest_cache .mypy_cache .ruff_cache .schemathesis schemathesis-report
	rm -rf *.egg-info functions/*.egg-info infrastructure/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV) || { apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium

$(CHECKOV): pyproject.toml
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --group checkov
	touch $@

$(SAM): pyproject.toml $(INSTALLED)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet --group sam
	touch $@
