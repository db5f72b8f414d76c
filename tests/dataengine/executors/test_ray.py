"""The Ray executor: the same bytes as in-process, readable by Ray Data itself, model
stages in the chain or as pools, passes in input order."""

import dataclasses
import json
import os
import pickle
import types

import cv2
import pytest
import ray

from dataengine.executors import InProcess
from dataengine.executors import ray as ray_executor
from dataengine.executors.ray import RayExecutor
from dataengine.runner import run_recipe
from dataengine.stage import Resources, Stage
from tests.helpers import shard_bytes


def test_a_ray_worker_runs_opencv_on_the_cpus_its_task_holds():
    """`_PickledCall` is what every Ray task and actor of a run calls per unit."""
    before = cv2.getNumThreads()
    try:
        call = ray_executor._PickledCall(lambda unit: (unit, cv2.getNumThreads()), before + 1)
        result = call({"unit": [pickle.dumps("a unit")]})
        assert pickle.loads(result["unit"][0]) == ("a unit", before + 1)
    finally:
        cv2.setNumThreads(before)


def test_ray_segments_put_cheap_cpu_models_in_the_chain_and_give_others_a_pool():
    """Model-free stages and CPU models declared cheap to copy (`actors` 0) share one
    chain per worker; a GPU model, or one limited to `actors` copies, is a pool."""

    def stage(name, **resources):
        return types.SimpleNamespace(name=name, resources=Resources(**resources))

    ocr = stage("ocr", holds_model=True, actors=0)
    clip_on_gpu = stage("clip", holds_model=True, gpus=1, actors=0)
    writer = stage("writer", holds_model=True, actors=2)
    stages = [stage("decode"), ocr, stage("pairs"), writer, stage("select"), clip_on_gpu, ocr]
    names = [[s.name for s in segment] for segment in ray_executor.segments_of(stages)]
    assert names == [["decode", "ocr", "pairs"], ["writer"], ["select"], ["clip"], ["ocr"]]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_run_equals_in_process_run(local_ray, reference, tiny_recipe, tmp_path):
    summary = run_recipe(tiny_recipe, tmp_path, RayExecutor(), progress=False)
    assert summary.samples > 0
    assert shard_bytes(tmp_path) == shard_bytes(reference)


@pytest.mark.slow
def test_ray_data_reads_the_shards(local_ray, reference):
    """Ray Data's own reader sees the same samples, member for member, as webdataset."""
    from dataengine.corpus.read import iter_samples

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


@pytest.mark.slow
@pytest.mark.parametrize("holds_model", [False, True])
def test_map_batches_returns_results_in_input_order(local_ray, holds_model):
    batches = [[i, i + 1] for i in range(0, 20, 2)]
    resources = Resources(holds_model=holds_model, actors=2)
    got = list(RayExecutor().map_batches(batches, _doubler, resources))
    assert got == [[2 * x for x in b] for b in batches]
    assert list(InProcess().map_batches(batches, _doubler)) == got


@pytest.mark.slow
@pytest.mark.parametrize("ocr_runs_in", ["chain", "pool"])
def test_stages_after_a_model_stage_keep_the_pairs(local_ray, tiny_raw, tmp_path, ocr_runs_in):
    """A model stage between model-free stages, in every worker's chain (OCR's default) or
    as an actor pool of its own: the stages after it get the unit with its pairs, and the
    shards are the same bytes as the in-process path's."""
    from dataengine.recipe import build_recipe

    tiny_raw["stages"][1]["tasks"] = {"text_render": 1.0, "grayscale": 1.0}
    tiny_raw["stages"] += [{"stage": "text_legibility"}, {"stage": "select"}]
    recipe = build_recipe(tiny_raw)
    if ocr_runs_in == "pool":
        recipe.stages[-2].resources = Resources(holds_model=True, actors=1)
    segments = [[stage.name for stage in s] for s in ray_executor.segments_of(recipe.stages)]
    assert len(segments) == (1 if ocr_runs_in == "chain" else 3)
    local = run_recipe(recipe, tmp_path / "local", InProcess(), progress=False)
    # The same recipe object, its OCR model now set up here: Ray gets the configuration only.
    on_ray = run_recipe(recipe, tmp_path / "ray", RayExecutor(), progress=False)
    assert on_ray.samples == local.samples > 0
    assert shard_bytes(tmp_path / "ray") == shard_bytes(tmp_path / "local")


@dataclasses.dataclass
class _LogParams:
    log: str = ""


class _SetupLogger(Stage):
    """A cheap CPU "model" (actors 0) that records each set-up and changes nothing."""

    name = "setup_logger"
    Params = _LogParams
    resources = Resources(holds_model=True, actors=0)

    def setup(self) -> None:
        with open(self.params.log, "a") as f:
            f.write(f"{os.getpid()}\n")

    def process(self, unit):
        return unit


@pytest.mark.slow
def test_a_chain_holding_a_model_sets_it_up_once_per_actor(local_ray, tiny_recipe, tmp_path):
    """As tasks, the chain would be unpickled and its model set up for every unit; as the
    actor pool it is, once per actor (at most one per CPU)."""
    log = tmp_path / "setups.txt"
    tiny_recipe.stages.insert(1, _SetupLogger(_LogParams(str(log))))
    summary = run_recipe(tiny_recipe, tmp_path / "out", RayExecutor(), progress=False)
    setups = log.read_text().split()
    assert summary.shards > 2
    assert 1 <= len(setups) <= 2 == ray.cluster_resources()["CPU"]
    assert len(set(setups)) == len(setups)
