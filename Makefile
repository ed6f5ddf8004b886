# simlib: two commands do all the set-up on a fresh machine.
#   make run    create .venv, install simlib, run the baseline scenario into outputs/
#   make test   the same set-up, then the tests
# Other targets: make test-quick (without the full-scale checks), make lab (JupyterLab on
# notebooks/), make lint, make clean.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_ARGS ?= --replicates 5 --scale 0.2

# A Python 3.12 or newer: on PATH, or installed by pyenv (not necessarily the active one).
define FIND_PYTHON
for c in "$$PYTHON" python3.14 python3.13 python3.12 python3 \
         $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V) \
         /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do \
  [ -n "$$c" ] || continue; \
  if "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
    echo "$$c"; exit 0; fi; \
done; exit 1
endef
export FIND_PYTHON

.PHONY: run test test-quick lab lint clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@py=$$(bash -c "$$FIND_PYTHON") || { \
	  echo "error: simlib needs Python 3.12 or newer (Mesa 3.5 requires it) and none was found." >&2; \
	  echo "       Install one (e.g. 'pyenv install 3.12') or point PYTHON=/path/to/python3.12." >&2; \
	  exit 1; }; \
	echo "using $$py ($$("$$py" --version))"; \
	rm -rf $(VENV) && "$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/simlib run params/baseline.yaml $(RUN_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name simlib --display-name "simlib (.venv)" >/dev/null
	$(BIN)/jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

lint: $(STAMP)
	$(BIN)/ruff check simlib tests benchmarks
	$(BIN)/ruff format --check simlib tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
