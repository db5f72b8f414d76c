"""The scale benchmark's parts: its generated sources and recipe, its measurement of a
command, and its verdicts."""

from __future__ import annotations

import sys

import pyarrow.parquet as pq
import pytest

from benchmark.perf.scale import Measured, compare, measure, write_recipe, write_sources
from dataengine.recipe import load_recipe


def test_sources_and_recipe(tmp_path):
    sources = write_sources(tmp_path / "sources", 7)
    table = pq.read_table(next(sources.glob("*.parquet")))
    assert table.num_rows == 7 and table.column("jpg")[0].as_py()[:2] == b"\xff\xd8"
    recipe = load_recipe(write_recipe(sources, tmp_path / "scale.yaml"))
    assert recipe.source.name == "parquet" and [s.name for s in recipe.stages][-1] == "select"


def test_measure_counts_the_children_cpu_and_memory():
    burn = "import numpy; a = numpy.ones(50_000_000); sum(range(3_000_000))"
    found = measure([sys.executable, "-c", burn])
    assert found.cpu_seconds > 0.05 and found.peak_mb > 300  # 400 MB of ones
    with pytest.raises(RuntimeError, match="exited 3"):
        measure([sys.executable, "-c", "raise SystemExit(3)"])


def test_verdicts_name_the_bar_that_fails():
    small = {"stats": Measured(1.0, 1, 100)}
    large = {"stats": Measured(9.0, 9, 120)}
    (ok,) = compare((1000, small), (10000, large))
    assert ok.note.endswith("bars hold") and ok.ratio == pytest.approx(9.0)
    assert ok.name == "scale: stats, 10000 vs 1000 samples (time)"
    large["stats"] = Measured(20.0, 20, 200)
    (bad,) = compare((1000, small), (10000, large))
    assert "time ratio 20.0 > 11.0" in bad.note and "memory ratio 2.00 > 1.3" in bad.note
