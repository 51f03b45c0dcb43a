# container-gate: `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TOOLS  := .tools

.PHONY: demo test lint bench clean tools compat lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

## demo: install into .venv, gate the bundled example report, write every output to demo-output/
demo: $(VENV)/.runtime
	@$(BIN)/python examples/demo.py

## test: install the test tools, then lint, type-check and run the whole suite
test: $(VENV)/.installed tools
	$(BIN)/ruff check gate tests bench examples
	$(BIN)/ruff format --check gate tests bench examples
	$(BIN)/mypy
	PATH="$(CURDIR)/$(TOOLS)/bin:$(CURDIR)/$(TOOLS)/node_modules/.bin:$$PATH" $(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check gate tests bench examples
	$(BIN)/ruff format --check gate tests bench examples
	$(BIN)/mypy

## tools: third-party clients the tests drive (each test skips with a reason when its tool is missing)
tools: $(TOOLS)/.installed

$(TOOLS)/.installed: Makefile scripts/install-tools.sh
	bash scripts/install-tools.sh $(TOOLS)
	touch $@

## lock: regenerate actions/requirements.txt, the hash-pinned install of action.yml (runtime deps + flit_core)
# uv is pinned and installed into the tools venv only here: `make test` does not need it.
UV_VERSION := 0.13.8
LOCK       := actions/requirements.txt

$(TOOLS)/bin/uv-$(UV_VERSION):
	[ -x $(TOOLS)/venv/bin/python ] || $(PYTHON) -m venv $(TOOLS)/venv
	$(TOOLS)/venv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	mkdir -p $(TOOLS)/bin
	ln -sf ../venv/bin/uv $@

lock: $(TOOLS)/bin/uv-$(UV_VERSION)
	PYTHON=$(PYTHON) UPGRADE=$(UPGRADE) bash scripts/lock.sh $(TOOLS)/bin/uv-$(UV_VERSION) $(LOCK)

## bench: synthetic 10 MB and 100 MB reports; gate check vs json.load vs trivy convert
bench: $(VENV)/.bench
	$(BIN)/python bench/run.py

# msgspec is only a second reference decoder: without it the bench runs and leaves that row out.
$(VENV)/.bench: $(VENV)/.installed
	if $(BIN)/python -m pip install --quiet -e '.[test,lint,bench]'; then touch $@; \
	else echo "bench: msgspec did not install; measuring without its reference decoder"; fi

## compat: the suite on every installed Python 3.10 to 3.13 (a venv each, .venv-3.X)
compat:
	bash scripts/compat.sh

clean:
	rm -rf $(VENV) .venv-3.* $(TOOLS) demo-output .pytest_cache .mypy_cache .ruff_cache
