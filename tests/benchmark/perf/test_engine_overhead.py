"""The engine-overhead floor does the same work as the run it is compared with."""

from __future__ import annotations

from pathlib import Path

from benchmark.perf.engine_overhead import floor_run
from dataengine.executors import Processes
from dataengine.recipe import load_recipe
from dataengine.runner import run_recipe


def test_the_floor_makes_the_samples_the_run_makes(tmp_path):
    recipe = load_recipe(Path("pipelines/recipes/synthesis.yaml"))
    summary = run_recipe(recipe, tmp_path / "run", Processes(2), limit=24, progress=False)
    assert summary.samples > 40
    assert floor_run(recipe, 24, 2) == summary.samples
