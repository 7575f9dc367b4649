# `make demo` and `make test` do all set-up on a fresh machine: a virtual environment in
# .venv, the pinned CPU build of torch, the library in editable mode (with the test and
# documentation tools), then the job. `make docs` builds the documentation site offline.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test docs bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,docs]'
	touch $(STAMP)

demo: install
	$(BIN)/pgm demo

# The tests, the docstrings' examples (--doctest-modules) and the documentation build with
# warnings as errors (tests/test_docs.py, which also runs the tutorials).
test: install
	$(BIN)/python -m pytest -q

# The site in docs/_build/html; a tutorial runs again only when it or the library changed.
docs: install
	$(BIN)/python -m sphinx -W --keep-going -b html -d docs/_build/doctrees docs docs/_build/html

bench: install
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/rbm_digits.py
	$(BIN)/python benchmarks/rbm_throughput.py
	$(BIN)/python benchmarks/ais_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache docs/_build docs/api docs/tutorials
