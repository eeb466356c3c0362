# Two commands: `make run` sets everything up and starts the bot; `make test` checks it.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
MODEL := models/kyr.tar.gz
# The custom components' code is an input too: Rasa's cache retrains only what changed.
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) $(wildcard nlu_components/*.py) bot/ngram_model.py
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Rasa would otherwise report usage telemetry; this bot sends nothing anywhere.
export RASA_TELEMETRY_ENABLED ?= false
# Rasa's training cache, shared by every clone on this machine: training identical data
# and config again (a fresh clone, CI) reuses the trained components.
export RASA_CACHE_DIRECTORY ?= $(HOME)/.cache/kyr-bot/rasa

.PHONY: run run-cluster setup validate train test test-unit test-integration browser-deps bench bench-load bench-cluster bench-faults lock clean

run: validate $(MODEL)
	$(BIN)/kyr serve

# The production topology on this machine: 2 bot servers and 2 action servers behind
# balancer/, conversations and the knowledge base in PostgreSQL, locks in Redis (see deploy/).
run-cluster: validate $(MODEL)
	KYR_ENDPOINTS=deploy/endpoints.production.yml DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/kyr} \
	  $(BIN)/kyr serve --replicas 2 --actions 2

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || "$$(scripts/find-python310)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==24.0" "setuptools==70.3.0" "wheel==0.45.1"
	# No bytecode for all of TensorFlow at install (a minute here): modules compile as they are first imported.
	$(BIN)/python -m pip install --quiet --no-compile -c requirements.lock -e ".[test]"
	touch $@

validate: setup
	$(BIN)/kyr kb validate
	$(BIN)/rasa data validate --fail-on-warnings --quiet

# Rasa trains only when config, domain or data changed since the last model.
train: $(MODEL)
$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	$(BIN)/rasa train --fixed-model-name kyr --out models --quiet

# Chromium and axe-core for the widget's browser tests (apt and npm; see the script).
browser-deps:
	scripts/browser-deps

test: validate $(MODEL) browser-deps
	$(BIN)/python -m pytest -q
	$(BIN)/rasa test core --stories tests/stories --model $(MODEL) --fail-on-prediction-errors --out results/stories --quiet

test-unit: setup
	$(BIN)/python -m pytest -q -m "not integration"

# The `rasa init` baseline's DIET trains 10 epochs on all ten languages in 20 to 40 min here:
# 10 by default (named in the table), RASA_INIT_EPOCHS=100 for Rasa's own (hours).
RASA_INIT_EPOCHS ?= 10
bench: $(MODEL)
	$(BIN)/python -m bench.nlu_quality --rasa-init-epochs $(RASA_INIT_EPOCHS)

# Open-loop load on one bot replica + one action server, and on a plain `rasa init` server
# for comparison (trained once into ~/.cache/kyr-bot/rasa-init-reference); see README.
bench-load: $(MODEL)
	$(BIN)/python -m bench.load

# 200 concurrent conversations of 5 turns against 2 bot and 2 action servers behind
# balancer/ (PostgreSQL + Redis when they answer): every reply complete, in order, uncrossed.
bench-cluster: $(MODEL)
	$(BIN)/python -m bench.correctness

# Issue #7's fault tests under open-loop load on that topology: a bot replica killed,
# PostgreSQL restarted (as root), the action servers and Redis stopped; see bench/faults.py.
bench-faults: $(MODEL)
	$(BIN)/python -m bench.faults

lock: setup
	{ echo "# Exact versions of every package the bot runs on (pip freeze of a working venv, Python 3.10)."; \
	  echo "# Regenerate with: make lock"; $(BIN)/pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf models results var .pytest_cache
