# Two commands matter: `make run` (the whole tracker on this machine) and `make test`.
# Both create .venv and install the project on first use, so they work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install db run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,devrun]'
	$(BIN)/python -m tracker.i18n
	touch $(STAMP)

install: $(STAMP)

db: install
	$(BIN)/tracker db upgrade

run: db
	$(BIN)/tracker dev

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Import layers (lint-imports), lint (ruff), declared dependencies (deptry); all three run, and it fails if any failed.
lint: install
	@status=0; \
	$(BIN)/lint-imports || status=1; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/deptry . || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .import_linter_cache
