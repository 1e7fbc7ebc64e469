# Træningsguiden. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       ?= .venv
PY         := $(VENV)/bin/python
RASA       := $(VENV)/bin/rasa
PYTHON310  ?= $(shell PYENV_VERSION=3.10.13 python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3.10)
RASA_PORT    ?= 5005
ACTIONS_PORT ?= 5055
ENDPOINTS  ?= endpoints.yml
MODEL      := models/current.tar.gz
SPACY      := models/spacy/da/traeningsguiden.json
TRAIN_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) $(SPACY)
export SANIC_HOST := 127.0.0.1
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed (pyenv: 3.10.13)"; exit 1; }
	test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<24.1"
	$(PY) -m pip install -q -c requirements.lock -e ".[dev]"
	touch $@

## venv: create .venv with the pinned dependencies (Python 3.10)
venv: $(VENV)/.installed

$(SPACY): $(VENV)/.installed scripts/setup_spacy_model.py
	$(PY) scripts/setup_spacy_model.py
	@touch $@

## model: install da_core_news_sm 3.4.0 (release or vendor/ wheel) or build the loud fallback
model: $(VENV)/.installed
	$(PY) scripts/setup_spacy_model.py

$(MODEL): $(TRAIN_INPUTS) | $(VENV)/.installed
	mkdir -p var
	$(RASA) train --fixed-model-name current --out models --quiet

## train: train the Rasa model when data, domain, config or the spaCy pipeline changed
train: $(SPACY) $(MODEL)

## validate: rasa data validate (warnings fail)
validate: $(VENV)/.installed
	$(RASA) data validate --fail-on-warnings

## run: set everything up and start the action server, Rasa and the web app (chat, staff, analyst pages) on localhost
run: train
	RASA_PORT=$(RASA_PORT) ACTIONS_PORT=$(ACTIONS_PORT) ENDPOINTS=$(ENDPOINTS) scripts/run.sh

NGINX := /usr/sbin/nginx

## run-scaled: the production profile on localhost: 2 Rasa replicas (PostgreSQL tracker store, Redis lock store, RabbitMQ broker), 2 action servers, nginx in front, the web app, the analytics consumer
run-scaled: train nginx
	RASA_PORT=$(RASA_PORT) ACTIONS_PORT=$(ACTIONS_PORT) NGINX_BIN=$(NGINX) scripts/run_scaled.sh

## nginx: install Debian's nginx (apt, as root) for run-scaled; only started by run-scaled, on 127.0.0.1
nginx:
	@test -x $(NGINX) || { apt-get update && apt-get install -y --no-install-recommends nginx; }

CHROMIUM := /usr/bin/chromium
AXE      := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

## browser: install what the browser tests need: Debian's chromium (apt, as root) and axe-core (npm ci)
browser: $(AXE)
	@test -x $(CHROMIUM) || { apt-get update && apt-get install -y --no-install-recommends chromium; }

## test: set everything up and run every test (unit, actions, Rasa stories, live conversations, browser, analytics)
test: train browser
	$(PY) -m pytest
	$(RASA) data validate --fail-on-warnings
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/core

## screenshots: refresh docs/screenshots/*.png from the browser tests (real bot, real browser)
screenshots: train browser
	TRAENINGSGUIDEN_SCREENSHOTS=1 $(PY) -m pytest tests/browser -q -k "mouse or phone_width or staff_triage"

## lint: ruff, mypy (strict on bot/ and actions/), Rasa's lookups/synonyms up to date with bot/data/vocabulary.yml, and every pin of requirements.lock reviewed in security/advisories.yml (plus pip-audit when .venv-audit has it and the network allows)
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check bot actions tests bench scripts
	$(VENV)/bin/mypy bot actions
	$(VENV)/bin/mypy --strict scripts/check_advisories.py
	$(PY) scripts/gen_nlu_vocabulary.py --check
	$(PY) scripts/check_advisories.py

## audit: pip-audit of requirements.lock, online (own venv; needs PyPI's JSON API or OSV), failing on any advisory; make lint compares its findings with security/advisories.yml (SECURITY.md)
AUDIT_VENV := .venv-audit
audit:
	test -x $(AUDIT_VENV)/bin/pip-audit || { python3 -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/pip install -q pip-audit; }
	$(AUDIT_VENV)/bin/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off

## scenarios-doc: regenerate docs/scenarios.md (the caseworker's scenario page) from tests/scenarios/*.yml
scenarios-doc: $(VENV)/.installed
	$(PY) scripts/scenarios_md.py

.PHONY: scenarios-doc

## bench: print NLU scores, latency, throughput, memory and training time (ours vs. rasa init)
bench: train
	$(PY) bench/run.py

## bench-nlu: NLU only, our config on the held-out eval set (~4 min; BENCH_ARGS="--configs ours 'rasa init'" adds the default)
BENCH_ARGS ?= --configs ours
bench-nlu: $(VENV)/.installed
	$(PY) bench/run.py --only eval $(BENCH_ARGS)

## load: load test over REST at 1/10/50/200 conversations at a time: embedded and scaled profile vs the rasa init bot (~30-40 min; LOAD_ARGS="--concurrency 1 2 --conversations 4 --targets embedded 'rasa init'" for a quick look)
LOAD_ARGS ?=
load: train
	$(PY) bench/load.py $(LOAD_ARGS)

## fuzz: 10,000 hostile messages through the real servers (REST and /api/besked), then 5xx, empty answers and CPR leaks (FUZZ_ARGS="--messages 2000")
FUZZ_ARGS ?=
fuzz: train
	$(PY) bench/fuzz.py $(FUZZ_ARGS)

## lock: re-pin requirements.lock from the current venv
lock:
	$(PY) -m pip freeze --exclude-editable | grep -v "^py-spy" | sed '1i # Exact versions installed by `make` (pip -c requirements.lock). Regenerate: make lock' > requirements.lock

## clean: remove trained models, results and local databases (keeps .venv)
clean:
	rm -rf models results var

.PHONY: help venv model train validate browser nginx run run-scaled test screenshots lint bench bench-nlu load fuzz audit lock clean
