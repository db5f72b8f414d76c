"""The runner on Ray Data: the same bytes as in-process, readable by Ray Data itself, and a
second Ray node changes nothing."""

import dataclasses
import json
import os

import pytest
import ray

from dataengine.runner import map_batches, run_recipe
from dataengine.stage import Resources, Stage
from tests.helpers import shard_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_run_equals_in_process_run(local_ray, reference, tiny_recipe, tmp_path):
    summary = run_recipe(tiny_recipe, tmp_path, progress=False)
    assert summary.samples > 0
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_ray_data_reads_the_shards(local_ray, reference):
    """Ray Data's own reader sees the same samples, member for member, as webdataset."""
    from dataengine.corpus import iter_samples

    expected = {s["__key__"]: s for s in iter_samples(reference)}
    rows = ray.data.read_webdataset(str(reference / "shards"), decoder=None).take_all()
    assert len(rows) == len(expected) > 0
    for row in rows:
        sample = expected[row["__key__"]]
        assert json.loads(row["json"]) == sample["json"]
        target = sample["json"]["target"]
        assert row[target] == sample[target]


def _doubler():
    return lambda batch: [2 * x for x in batch]


@pytest.mark.parametrize("holds_model", [False, True])
def test_map_batches_returns_results_in_input_order(local_ray, holds_model):
    batches = [[i, i + 1] for i in range(0, 20, 2)]
    got = list(map_batches(batches, _doubler, holds_model=holds_model, max_actors=2))
    assert got == [[2 * x for x in b] for b in batches]
    assert list(map_batches(batches, _doubler, in_process=True)) == got


@pytest.mark.parametrize("ocr_runs_in", ["chain", "pool"])
def test_stages_after_a_model_stage_keep_the_pairs(local_ray, tiny_raw, tmp_path, ocr_runs_in):
    """A model stage between model-free stages, in every worker's chain (OCR's default) or
    as an actor pool of its own: the stages after it get the unit with its pairs, and the
    shards are the same bytes as the in-process path's."""
    from dataengine.recipe import build_recipe
    from dataengine.runner import _segments

    tiny_raw["stages"][1]["tasks"] = {"text_render": 1.0, "grayscale": 1.0}
    tiny_raw["stages"] += [{"stage": "text_legibility"}, {"stage": "select"}]
    recipe = build_recipe(tiny_raw)
    if ocr_runs_in == "pool":
        recipe.stages[-2].resources = Resources(holds_model=True, max_actors=1)
    segments = [[stage.name for stage in segment] for segment in _segments(recipe.stages)]
    assert len(segments) == (1 if ocr_runs_in == "chain" else 3)
    local = run_recipe(recipe, tmp_path / "local", in_process=True, progress=False)
    # The same recipe object, its OCR model now set up here: Ray gets the configuration only.
    on_ray = run_recipe(recipe, tmp_path / "ray", progress=False)
    assert on_ray.samples == local.samples > 0
    assert shard_bytes(tmp_path / "ray") == shard_bytes(tmp_path / "local")


@dataclasses.dataclass
class _LogParams:
    log: str = ""


class _SetupLogger(Stage):
    """A cheap CPU "model" (max_actors 0) that records each set-up and changes nothing."""

    name = "setup_logger"
    Params = _LogParams
    resources = Resources(holds_model=True, max_actors=0)

    def setup(self) -> None:
        with open(self.params.log, "a") as f:
            f.write(f"{os.getpid()}\n")

    def process(self, unit):
        return unit


def test_a_chain_holding_a_model_sets_it_up_once_per_actor(local_ray, tiny_recipe, tmp_path):
    """As tasks, the chain would be unpickled and its model set up for every unit; as the
    actor pool it is, once per actor (at most one per CPU)."""
    log = tmp_path / "setups.txt"
    tiny_recipe.stages.insert(1, _SetupLogger(_LogParams(str(log))))
    summary = run_recipe(tiny_recipe, tmp_path / "out", progress=False)
    setups = log.read_text().split()
    assert summary.shards > 2
    assert 1 <= len(setups) <= 2 == ray.cluster_resources()["CPU"]
    assert len(set(setups)) == len(setups)
