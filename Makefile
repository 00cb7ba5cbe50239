# Every target works on a fresh machine with Python 3.11 and make: the virtual environment
# is created on first use, torch is pinned to the CPU wheel and installed before the project.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench browser clean soak docker-check audit lock

install: $(STAMP)

# run-time dependencies at requirements.lock's versions (the image's), test tools at their newest
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install "torch==2.13.0"
	$(BIN)/python -m pip install -c requirements.lock -e ".[test]"
	touch $(STAMP)

browser:
	@bash scripts/install-browser.sh

run: install
	$(BIN)/playground serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install browser lint
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
	rm -rf $(VENV) .pytest_cache .ruff_cache
