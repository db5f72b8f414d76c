# ACE data engine. `make data` then `make test` from a fresh clone; each installs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= data/default

.PHONY: install data test lint format bench docs clean-data

install: $(STAMP)

# The venv is rebuilt only when the dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Build the default corpus; rerunning continues a killed run (complete shards are kept).
data: $(STAMP)
	$(BIN)/ace data run pipelines/recipes/default.yaml --out $(OUT) --resume
	$(BIN)/ace data validate $(OUT)
	$(BIN)/ace data stats $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmark.perf

# docs/TASKS.md and its example strips, from the registered pair makers.
docs: $(STAMP)
	$(BIN)/python -m pipelines.task_gallery --out docs

clean-data:
	rm -rf $(OUT)
