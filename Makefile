# Developer and CI entry points. The virtualenv lives in .venv and is (re)installed only when
# pyproject.toml changes; the stamp files recording that sit inside .venv. Likewise the npm
# packages of the SPARQL editor live in node_modules, (re)installed by `npm ci` only when
# package-lock.json changes, and the editor's bundle is rebuilt only when its source changes.

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.stamp-run
TEST_STAMP := $(VENV)/.stamp-test
NPM_STAMP := node_modules/.stamp-npm
# The editor of the query workbench: CodeMirror 6 and its SPARQL mode from npm, bundled by
# esbuild (package.json says how) into the package's static files; git ignores the bundle.
EDITOR_BUNDLE := server/odr_kg/web/static/build/sparql-editor.js

# Debian packages the tests need, installed by `make test` when missing: chromium for the
# browser tests, virtuoso-opensource for tests/test_virtuoso.py (which starts its own instance
# on 127.0.0.1). A policy-rc.d that exits 101 is in place while they install, so that no
# package starts a system service (Debian's Virtuoso would listen on all interfaces).
DEBIAN_PACKAGES := chromium virtuoso-opensource

.PHONY: run test debian-packages clean

run: $(RUN_STAMP) $(EDITOR_BUNDLE)
	$(VENV)/bin/odr-kg serve --host $(HOST) --port $(PORT)

test: $(TEST_STAMP) $(EDITOR_BUNDLE) debian-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV_PYTHON) -m pytest -q

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -e '.[test]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@

$(EDITOR_BUNDLE): editor/sparql-editor.js editor/build.mjs $(NPM_STAMP)
	npm run --silent build

debian-packages:
	@missing=""; \
	for package in $(DEBIAN_PACKAGES); do \
		dpkg -s "$$package" >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		made_policy=""; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
			chmod +x /usr/sbin/policy-rc.d; made_policy=yes; \
		fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends $$missing; \
		status=$$?; \
		[ -z "$$made_policy" ] || rm -f /usr/sbin/policy-rc.d; \
		exit $$status; \
	fi

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache node_modules server/odr_kg/web/static/build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
