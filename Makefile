# `make demo` and `make test` do all set-up on a fresh machine: a virtual environment in
# .venv, the pinned CPU build of torch, the library in editable mode, then the job.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/pgm demo

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/rbm_digits.py
	$(BIN)/python benchmarks/rbm_throughput.py
	$(BIN)/python benchmarks/ais_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache
