# Two entry points: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU torch wheel first (a bare `torch` requirement would pull a multi-GB CUDA build).
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[convert,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vtonpipe demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf demo-out .pytest_cache
