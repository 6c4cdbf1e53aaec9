# The two commands of the README. Both create ./.venv from this project's own files when it is missing.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: run test test-all lint-imports bench install screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/segedit --demo

lint-imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

# the fast suite (slow-marked soak/fuzz/long GUI runs left out); test-all runs everything
# two worker processes (pytest-xdist): this 2-core machine runs the fast suite in ~1.5 min instead of ~2.5
test: lint-imports
	PYTHONDONTWRITEBYTECODE=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 -m "not slow"

test-all: lint-imports
	PYTHONDONTWRITEBYTECODE=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -n 2

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
