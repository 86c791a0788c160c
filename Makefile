# PaperLab: thin wrappers; the logic lives in paperlab.collection.
# `make run` and `make test` create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
# `make run PY=python` uses an environment you manage yourself (conda: environment.yml) and installs nothing.
ifeq ($(origin PY), command line)
INSTALLED :=
else
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
endif
# torch is pinned and installed first: a bare `torch` requirement would pull a multi-GB CUDA build.
# GPU users: make setup TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
ARGS ?=

.PHONY: setup run test lab sync execute catalog lint format bench report clean help

help:
	@echo "make run      execute every notebook (ci profile) into build/, write build/report.{md,html}"
	@echo "make test     lint, unit tests, nbval on committed notebooks, collection run with seed=1"
	@echo "make lab      open JupyterLab on papers/"
	@echo "make execute  re-execute notebooks in place (ARGS='--paper SLUG'), to commit them"
	@echo "make sync     regenerate each .ipynb's cells from its paired .py (outputs kept)"
	@echo "make catalog  regenerate papers/README.md and the topic indexes from papers/catalog.yaml"
	@echo "make bench    run the benchmarks against peer libraries"
	@echo "make lint     ruff check and format check"

ifneq ($(INSTALLED),)
$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)
endif

setup: $(INSTALLED)

run: $(INSTALLED)
	$(PY) -m paperlab.collection run --jobs $(JOBS) $(ARGS)

test: $(INSTALLED)
	$(PY) -m paperlab.collection test --jobs $(JOBS)

lab: $(INSTALLED)
	$(PY) -m jupyter lab papers/

execute: $(INSTALLED)
	$(PY) -m paperlab.collection execute --jobs $(JOBS) $(ARGS)

sync: $(INSTALLED)
	$(PY) -m jupytext --sync papers/*/*.py

catalog: $(INSTALLED)
	$(PY) -m paperlab.collection catalog

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(INSTALLED)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(INSTALLED)
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; $(PY) $$script $(ARGS) || exit 1; done

report:
	@test -f build/report.md && cat build/report.md || echo "no report yet: run make run"

clean:
	rm -rf build
