"""The benchmark's derived recipes stay valid as the shipped recipes change."""

from pathlib import Path

import pytest

from benchmark.perf.memory import SMALL, scaled_recipe
from dataengine.recipe import load_recipe


@pytest.mark.parametrize("factor", [1, 10])
def test_memory_benchmark_scales_the_default_recipe(tmp_path, factor):
    stale = tmp_path / f"mining-cache-x{factor}"
    stale.mkdir()  # a previous measurement's mining
    recipe = load_recipe(scaled_recipe(Path("pipelines/recipes/default.yaml"), factor, tmp_path))
    pool = recipe.raw["source"]["pool"]
    assert pool["photos"] == SMALL["photos"] * factor
    assert pool["shape_families"] == SMALL["shape_families"] * factor
    assert recipe.raw["source"]["cache"] == str(stale) and not stale.exists()  # mined afresh
