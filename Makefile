# The two commands of the README: `make run` and `make test`. Each sets up
# everything it needs on a fresh machine first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench setup setup-test native system-deps

run: setup native
	$(BIN)/dlp-gateway serve --config config

# The PostgreSQL tests use DLP_TEST_POSTGRES_URL, set here when the local
# server answers (tests/system-deps.sh starts it where it can).
test: setup-test native system-deps
	DLP_TEST_POSTGRES_URL=$${DLP_TEST_POSTGRES_URL:-$$(pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null \
	  && echo postgresql://postgres@127.0.0.1:5432/test)} $(BIN)/python -m pytest

# Style and the layers: ruff (pyflakes, import order, bugbear...), the
# import-linter contracts in pyproject.toml (no import cycles, layers point down)
# and mypy on the code and the benchmarks (their scripts import each other by
# file name, so they are checked from their own directory).
lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy gateway detectors
	cd benchmarks/relay && ../../$(BIN)/mypy *.py

bench: setup-test native system-deps
	$(BIN)/python benchmarks/relay/run.py

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

# The detectors' hot modules compiled with mypyc (deploy/native.py): used
# only while they match the sources; a failed build leaves the sources to
# run (same findings, slower), and says so.
NATIVE := build/native/manifest.json
native: $(NATIVE)
$(NATIVE): $(VENV)/.installed $(wildcard detectors/*.py detectors/extract/*.py)
	$(BIN)/python -m pip install --quiet -e '.[native]'
	$(BIN)/python deploy/native.py || true

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

system-deps:
	bash tests/system-deps.sh
