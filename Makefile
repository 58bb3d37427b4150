# `make demo` and `make test` work on a fresh Debian machine with Python 3.11 (python3-venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo serve test bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/realname demo

serve: install
	$(BIN)/realname serve

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/realname bench gateway --write docs/benchmarks.md

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
