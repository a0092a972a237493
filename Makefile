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
TRANSLATED := build/template.translated.json
# Browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: dev test lint bench load build deploy clean screenshot

dev: $(INSTALLED)  ## run the whole product locally (embedded AWS, API, example site)
	$(BIN)/clinic dev

test: lint $(CHROMIUM)  ## every static check, then every test
	$(BIN)/pytest

lint: $(INSTALLED) $(CHECKOV)  ## ruff, mypy, bandit; cfn-lint and checkov on the template and its SAM translation
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r functions infrastructure
	$(BIN)/clinic translate --output $(TRANSLATED)
	$(BIN)/cfn-lint template.yaml $(TRANSLATED)
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation \
		--external-checks-dir infrastructure/checkov_checks -f template.yaml -f $(TRANSLATED)

bench: $(INSTALLED)  ## measure cold imports, warm latency, AWS calls and cost per route (not a test)
	$(BIN)/python -m bench.run

load: $(INSTALLED)  ## 500 consultation requests through a local stack of its own, then check each lead (not a test)
	$(BIN)/python -m clinic_infra.local.load

screenshot: $(INSTALLED) $(CHROMIUM)  ## refresh docs/example-site.png from a browser run
	CLINIC_SCREENSHOT_DIR=docs $(BIN)/pytest tests/e2e/test_browser.py -k screenshot

build: $(SAM)  ## sam build (Makefile build method: no Docker, no python3.13 needed)
	$(SAM) build

deploy: build  ## deploy to AWS (asks for parameters the first time)
	$(SAM) deploy --guided

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

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
