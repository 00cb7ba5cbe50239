# Every target works on a fresh machine with Python 3.11 and make: the virtual environment
# is created on first use, torch is pinned to the CPU wheel and installed before the project.
# lint and test also need Node.js with npm: Biome, the JS/CSS formatter and linter, and axe-core, which the
# browser tests inject into every page, come from npm (package-lock.json pins both).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
BIOME  := node_modules/.bin/biome

.PHONY: install run ready test lint format bench browser redis clean soak docker-check audit lock

install: $(STAMP)

# run-time dependencies at requirements.lock's versions (the image's), test tools at their newest
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install "torch==2.13.0"
	$(BIN)/python -m pip install -c requirements.lock -e ".[test]"
	touch $(STAMP)

# Biome and axe-core at package-lock.json's exact versions
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make lint needs Node.js and npm (for Biome)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

browser:
	@bash scripts/install-browser.sh

# redis-server for the live class's Redis tests (skipped, with the reason, where it cannot be installed)
redis:
	@bash scripts/install-redis.sh

# bytecode first (only what changed is compiled again): an editable install has none, and with
# PYTHONDONTWRITEBYTECODE each start would compile the project's sources anew
run: install
	$(BIN)/python -m compileall -q server models
	$(BIN)/playground serve

# process start → the first /healthz answer: median of 5 starts, CPU time, slowest imports (target ≤ 1.5 s)
ready: install
	$(BIN)/python scripts/ready_time.py

# Python with ruff; static/ (JS and CSS, less static/vendor) with Biome: formatting, lint and import order
lint: install $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIOME) ci static

# rewrite the code as lint wants it: ruff's and Biome's formatters and safe fixes
format: install $(NODE_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIOME) check --write static

test: install browser redis lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/playground bench

# 50 streams for 2 minutes, then 100 against the limit: figures in artifacts/soak-*.json
soak: install
	BIN=$(BIN) bash scripts/soak.sh

# the Dockerfile's install steps in a clean venv, then its CMD and HEALTHCHECK (installs torch: minutes)
docker-check:
	bash scripts/docker-recipe.sh

# requirements.lock from this environment's run-time dependencies (after changing pyproject.toml)
lock: install
	$(BIN)/python scripts/lock.py

# pip-audit over requirements.lock → artifacts/audit.txt
audit: install
	bash scripts/audit.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache node_modules
