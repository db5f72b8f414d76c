"""Pairs per second per core of a pair recipe, beside its codec floor (codec_floor.py).

The recipe runs through the same runner as `ace data run`: on a local Ray started before
the clock, whose workers have run a warm-up slice of the recipe (a user's cluster is
already up), on local worker processes (`--processes`) and in this process
(`--in-process`), launch to exit; the floor runs on the same sources right after, in
warmed processes. `profile` says where the recipe's CPU time goes.
"""

from __future__ import annotations

import shutil
import time
from functools import partial
from pathlib import Path
from statistics import median

from benchmark.perf.codec_floor import floor_pass
from benchmark.perf.cpu import timed
from benchmark.perf.report import Result
from benchmark.perf.stage_profile import stage_seconds
from dataengine.executors import InProcess, Processes
from dataengine.executors.ray import RayExecutor
from dataengine.recipe import load_recipe
from dataengine.runner import run_recipe

REPEATS = 3  # interleaved runs on each executor (odd: the median is one of them)
SCORING_STAGES = ("stage quality_scores", "stage text_legibility")


def measure(recipe_path: Path, work: Path, cores: int) -> list[Result]:
    """On a running Ray (started by the caller), on local worker processes and in-process."""
    recipe = load_recipe(recipe_path)
    out, warm = work / recipe.name, work / f"{recipe.name}-warm-up"
    local, own = work / f"{recipe.name}-processes", work / f"{recipe.name}-in-process"
    for path in (out, warm, local, own):
        shutil.rmtree(path, ignore_errors=True)
    # Start the Ray workers and let them import the engine, as on a cluster already running.
    cluster = RayExecutor()  # the running session
    run_recipe(recipe, warm, cluster, limit=recipe.unit_size * cores, progress=False)
    # Ray, processes and in-process in interleaved rounds, medians of each: one run of each
    # swung the ratio between 0.84 and 0.94 here. The first Ray run's output is kept.
    ray_runs, process_runs, own_runs = [], [], []
    for i in range(REPEATS):
        ray_out = out if i == 0 else work / f"{recipe.name}-ray-{i}"
        ray_runs.append(timed(partial(run_recipe, recipe, ray_out, cluster, progress=False)))
        process_runs.append(
            timed(partial(run_recipe, recipe, local, Processes(cores), progress=False))
        )
        shutil.rmtree(local)
        own_runs.append(_in_process(recipe, own))
        shutil.rmtree(own)
        if i:
            shutil.rmtree(ray_out)
    on_ray, on_processes = ray_runs[0][0], process_runs[0][0]
    ray_wall, ray_cpu = _medians(ray_runs)
    processes_wall, processes_cpu = _medians(process_runs)
    own_wall, own_cpu = _medians(own_runs)
    floor_seconds, encoded = floor_pass(recipe, out, processes=cores)
    floor = on_ray.samples / floor_seconds  # floor_seconds are CPU seconds of its workers
    note = f"floor: {encoded} images in {floor_seconds:.1f} CPU s; {cores} cores"
    return [
        Result(
            f"{recipe.name} recipe on a running Ray: pairs per CPU second",
            on_ray.samples / ray_cpu,
            "pairs/CPU s",
            baseline=floor,
            baseline_name="decode+encode floor",
            note=f"{on_ray.samples} pairs, {on_ray.shards} shards in {ray_wall:.1f} s, "
            f"{ray_cpu:.1f} CPU s (medians of {REPEATS}); {note}",
        ),
        Result(
            f"{recipe.name} recipe on {cores} processes: pairs per CPU second",
            on_processes.samples / processes_cpu,
            "pairs/CPU s",
            baseline=floor,
            baseline_name="decode+encode floor",
            note=f"{processes_wall:.1f} s, {processes_cpu:.1f} CPU s; {note}",
        ),
        Result(
            f"{recipe.name} recipe: Ray (running) / {cores} processes, pairs per CPU second",
            on_ray.samples / ray_cpu,
            "pairs/CPU s",
            baseline=on_processes.samples / processes_cpu,
            baseline_name=f"{cores} processes",
            note=f"medians of {REPEATS} interleaved runs each: wall {ray_wall:.1f} s on Ray, "
            f"{processes_wall:.1f} s on processes; CPU s on Ray "
            f"{', '.join(f'{r[2]:.1f}' for r in ray_runs)}, on processes "
            f"{', '.join(f'{r[2]:.1f}' for r in process_runs)}",
        ),
        Result(
            f"{recipe.name} recipe: Ray (running) / in-process, pairs per CPU second",
            on_ray.samples / ray_cpu,
            "pairs/CPU s",
            baseline=own_runs[0][0].samples / own_cpu,
            baseline_name="in-process",
            note=f"medians of {REPEATS} interleaved runs each: wall {ray_wall:.1f} s on Ray, "
            f"{own_wall:.1f} s in-process; CPU s on Ray (the machine's, Ray's daemons "
            f"included) {', '.join(f'{r[2]:.1f}' for r in ray_runs)}, in-process (this "
            f"process's own, so not Ray's idle daemons) "
            f"{', '.join(f'{r[2]:.1f}' for r in own_runs)}",
        ),
    ]


def _in_process(recipe, out: Path) -> tuple:
    """run_recipe in this process: its summary, wall seconds and this process's own CPU
    seconds (Ray, running beside it for the interleaved runs, is not charged to it)."""
    clock = time.process_time()
    summary, wall, _ = timed(partial(run_recipe, recipe, out, InProcess(), progress=False))
    return summary, wall, time.process_time() - clock


def _medians(runs: list[tuple]) -> tuple[float, float]:
    """Median wall and CPU seconds of `timed` results."""
    return median(run[1] for run in runs), median(run[2] for run in runs)


def profile(recipe_path: Path, work: Path, limit: int | None = None) -> list[Result]:
    """Each part's share of the recipe's CPU time, in-process (on `limit` sources spread
    over the list when given): what bounds the ratio to the floor, whose work lies inside
    "read sources", "decode" and the sink's encoding."""
    recipe = load_recipe(recipe_path)
    out = work / f"{recipe.name}-profile"
    shutil.rmtree(out, ignore_errors=True)
    seconds = stage_seconds(recipe, out, limit)
    total = sum(seconds.values())
    scoring = sum(v for part, v in seconds.items() if part in SCORING_STAGES)
    return [
        Result(f"{recipe.name} recipe CPU share: {part}", value, "CPU s", total, "whole run")
        for part, value in sorted(seconds.items(), key=lambda kv: -kv[1])
    ] + [
        Result(
            f"{recipe.name} recipe CPU share: scoring (quality scores and OCR)",
            scoring,
            "CPU s",
            total,
            "whole run",
            note="bar: at most 0.20 of the run",
        )
    ]
