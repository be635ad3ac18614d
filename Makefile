# Developer and CI entry points. The virtualenv lives in .venv and is (re)installed only when
# pyproject.toml changes; the stamp files recording that sit inside .venv.

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.stamp-run
TEST_STAMP := $(VENV)/.stamp-test

# Debian packages the tests need, installed by `make test` when missing (e.g. chromium
# chromium-driver for browser tests). None yet.
DEBIAN_PACKAGES := chromium

.PHONY: run test debian-packages clean

run: $(RUN_STAMP)
	$(VENV)/bin/odr-kg serve --host $(HOST) --port $(PORT)

test: $(TEST_STAMP) debian-packages
	$(VENV)/bin/ruff check .
	$(VENV_PYTHON) -m pytest -q

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -e '.[test]'
	touch $@

debian-packages:
	@missing=""; \
	for package in $(DEBIAN_PACKAGES); do \
		dpkg -s "$$package" >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		apt-get update && apt-get install -y --no-install-recommends $$missing; \
	fi

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
