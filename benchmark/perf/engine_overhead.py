"""The engine's overhead on a pair recipe: `ace data run --processes N` against the same
stages' functions in a plain loop.

The floor is what a user could write without the engine: list the same sources and cut
them into the same units (the mining pass comes from the same cache on both sides), then in
a pool of N processes load each unit's sources, call each stage on the unit and encode
every accepted sample's members with the sink's settings. It writes nothing: no tar, no
index, no stats, no resume checks, no curation table, no run card. Each floor worker
receives the recipe once, keeps its stages' models, and uses the engine's heap settings and
OpenCV threads, as the engine's workers do, so the two
differ only in what the engine adds. Both are timed launch to finish in this process (the
worker pools' start-up included), in interleaved rounds; the figure is the floor's median
wall time over ours. Bar: at least 0.85.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from statistics import median

from benchmark.perf.codec_floor import warm_up
from benchmark.perf.report import Result, print_report
from dataengine.chain import StageChain, UnitJob
from dataengine.executors import InProcess, Processes
from dataengine.executors.base import codec_threads
from dataengine.executors.processes import start_method
from dataengine.machine import cores
from dataengine.recipe import Recipe, load_recipe
from dataengine.runner import plan_units, run_recipe
from dataengine.schema import Unit
from dataengine.sinks.shard_writer import sample_members

ROUNDS = 3  # interleaved rounds (odd: the median is one of them)
LIMIT = 640  # sources: 20 units of the default recipe, about half a minute on 2 cores


def measure(recipe_path: Path, work: Path, processes: int, limit: int = LIMIT) -> list[Result]:
    recipe = load_recipe(recipe_path)
    out = work / f"{recipe.name}-overhead"
    shutil.rmtree(out, ignore_errors=True)
    plan_units(recipe, InProcess(), limit, progress=False)  # the mining cache, off the clock
    ours, floor = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        summary = run_recipe(recipe, out, Processes(processes), limit=limit, progress=False)
        ours.append(time.perf_counter() - started)
        shutil.rmtree(out)
        started = time.perf_counter()
        samples = floor_run(recipe, limit, processes)
        floor.append(time.perf_counter() - started)
    if samples != summary.samples:
        raise RuntimeError(f"the floor made {samples} samples, the run {summary.samples}")
    return [
        Result(
            f"{recipe.name} recipe on {processes} processes: engine / plain loop of its stages",
            median(floor) / median(ours),
            "x floor speed",
            1.0,
            "plain loop (floor)",
            note=f"{summary.samples} accepted samples (sources limited to {limit}); wall s ours "
            f"{_list(ours)}, floor {_list(floor)} (medians of {ROUNDS} interleaved rounds; "
            "bar 0.85)",
        )
    ]


def floor_run(recipe: Recipe, limit: int, processes: int) -> int:
    """The plain loop: -> accepted samples encoded."""
    units = plan_units(recipe, InProcess(), limit, progress=False)
    # Workers start as the engine's own would in this process: forked only where that is
    # safe (a fork after OpenCV or torch ran here leaves the child's thread pools locked).
    context = multiprocessing.get_context(start_method(UnitJob(recipe.stages).holds_model))
    setup = (recipe, cores() / processes)
    with ProcessPoolExecutor(processes, context, _floor_worker, setup) as pool:
        return sum(pool.map(_floor_unit, units))


# Each floor worker's recipe, received once when it starts: its stages set up (the OCR
# model loaded) on the first unit and kept, as in the engine's workers.
_recipe: Recipe | None = None


def _floor_worker(recipe: Recipe, cpus: float) -> None:
    global _recipe
    warm_up()
    codec_threads(cpus)
    _recipe = recipe


def _floor_unit(unit: Unit) -> int:
    done = StageChain(_recipe.stages, _recipe.source)(unit)
    return sum(1 for pair in done.pairs if pair.ok and sample_members(pair, _recipe.sink))


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{s:.1f}" for s in seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perf.engine_overhead")
    parser.add_argument("--recipe", type=Path, default=Path("pipelines/recipes/default.yaml"))
    parser.add_argument("--out", type=Path, default=Path("data/bench/work"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--limit", type=int, default=LIMIT)
    args = parser.parse_args(argv)
    results = measure(args.recipe, args.out, args.processes, args.limit)
    print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
