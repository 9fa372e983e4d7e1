# Each target sets up what it needs from a fresh clone: only python3 and git required.
PYTHON ?= python3
# `make test DEPENDENCIES=minimum` runs on the oldest versions the template supports.
DEPENDENCIES ?= dev
REQUIREMENTS := requirements-$(DEPENDENCIES).txt
VENV := $(if $(filter dev,$(DEPENDENCIES)),.venv,.venv-$(DEPENDENCIES))
BIN := $(abspath $(VENV))/bin
INSTALLED := $(VENV)/.installed

.PHONY: help demo demo-test test test-fast bench lint lock clean

help:
	@echo "make demo       render a project with default answers and migrate its SQLite database"
	@echo "make demo-test  the demo project's own test suite"
	@echo "make test       the whole test suite (PostgreSQL/MariaDB tests need TEST_*_URL);"
	@echo "                DEPENDENCIES=minimum: on the oldest supported versions"
	@echo "make test-fast  every test that needs no server nor the template's history"
	@echo "make bench      what the template costs, as ratios against floors (QUICK=1: a smoke run)"
	@echo "make lint       ruff on this repository"
	@echo "make lock       re-pin requirements-*.txt from pyproject.toml"
	@echo "make clean      remove .venv and build/"

# The virtual environment, with exactly the pinned dependencies.
$(INSTALLED): $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS)
	touch $@

demo: $(INSTALLED)
	BIN=$(BIN) bash scripts/demo.sh

demo-test: demo
	cd build/demo/my_program && $(BIN)/python -m pytest

test: $(INSTALLED)
	$(BIN)/python -m pytest -n auto

test-fast: $(INSTALLED)
	$(BIN)/python -m pytest -n auto -m "not slow"

bench: $(INSTALLED)
	$(BIN)/python scripts/bench.py $(if $(QUICK),--quick)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lock: $(INSTALLED)
	$(BIN)/uv pip compile pyproject.toml --group dev --python-version 3.11 \
		--no-header --quiet -o requirements-dev.txt
	$(BIN)/uv pip compile pyproject.toml --group dev --python-version 3.10 \
		--override requirements-minimum.in --no-header --quiet -o requirements-minimum.txt

clean:
	rm -rf .venv .venv-* build
