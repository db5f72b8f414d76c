"""Pairs per second per core of a pair recipe, beside its codec floor (codec_floor.py).

The recipe runs through the same runner as `ace data run`, on a local Ray started before
the clock, whose workers have run a warm-up slice of the recipe (a user's cluster is
already up); the floor runs on the same sources right after, in warmed processes.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from benchmark.perf.codec_floor import floor_pass
from benchmark.perf.report import Result
from dataengine.recipe import load_recipe
from dataengine.runner import run_recipe


def measure(recipe_path: Path, work: Path, cores: int) -> list[Result]:
    recipe = load_recipe(recipe_path)
    out, warm = work / recipe.name, work / f"{recipe.name}-warm-up"
    for path in (out, warm):
        shutil.rmtree(path, ignore_errors=True)
    # Start the Ray workers and let them import the engine, as on a cluster already running.
    run_recipe(recipe, warm, limit=recipe.unit_size * cores, progress=False)
    start = time.perf_counter()
    summary = run_recipe(recipe, out, progress=False)
    ours_seconds = time.perf_counter() - start
    floor_seconds, encoded = floor_pass(recipe, out, processes=cores)
    ours = summary.samples / ours_seconds / cores
    floor = summary.samples / floor_seconds  # floor_seconds are CPU seconds: already per core
    note = (
        f"{summary.samples} pairs from {summary.shards} shards in {ours_seconds:.1f} s; "
        f"floor: {encoded} images in {floor_seconds:.1f} CPU s; {cores} cores"
    )
    return [
        Result(
            f"{recipe.name} recipe: pairs/s per core",
            ours,
            "pairs/s/core",
            baseline=floor,
            baseline_name="decode+encode floor",
            note=note,
        )
    ]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
