"""A Ray cluster of several nodes on one machine (`ray.cluster_utils`): the same samples as
one process, shards written by the nodes straight to object storage, and a node lost in the
middle of a run costing only its units."""

from __future__ import annotations

import copy
import threading
import time

import pytest
import ray
from ray.cluster_utils import Cluster

from dataengine.corpus.read import iter_samples
from dataengine.executors import InProcess
from dataengine.executors.ray import RayExecutor
from dataengine.recipe import build_recipe
from dataengine.runner import run_recipe
from dataengine.storage import as_path, listing
from tests.builders import TINY_RECIPE
from tests.helpers import shard_bytes

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster():
    """A head and one more node, one CPU each; this process is the driver."""
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, configure_logging=False, log_to_driver=False)
    try:
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def test_two_node_cluster_gives_the_same_shards(cluster, reference, tiny_recipe, tmp_path):
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    summary = run_recipe(tiny_recipe, tmp_path, RayExecutor(), progress=False)
    assert summary.samples > 0
    assert shard_bytes(tmp_path) == shard_bytes(reference)
    assert summary.nodes == 2  # both nodes wrote shards


def test_the_nodes_write_their_shards_straight_to_the_store(
    s3_server, bucket, cluster, reference, tiny_recipe, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # a local write would land here
    summary = run_recipe(tiny_recipe, f"{bucket}/run", RayExecutor(), progress=False)
    assert summary.nodes == 2
    assert shard_bytes(f"{bucket}/run") == shard_bytes(reference)
    assert list(tmp_path.iterdir()) == []


BIGGER = {  # units enough to still be running when a node goes
    **TINY_RECIPE,
    "source": {**TINY_RECIPE["source"], "photos": 120, "shape_families": 10},
    "unit_size": 4,
}


def test_a_node_lost_mid_run_costs_only_its_units(cluster, tmp_path):
    """The second node is removed once the run has committed a few shards: its units in
    flight are redone elsewhere; the output is whole, the same bytes as one process's, and
    holds no sample twice."""
    local = tmp_path / "local"
    run_recipe(build_recipe(copy.deepcopy(BIGGER)), local, InProcess(), progress=False)
    out, result = tmp_path / "cluster", {}

    def run() -> None:
        recipe = build_recipe(copy.deepcopy(BIGGER))
        result["summary"] = run_recipe(recipe, out, RayExecutor(), progress=False)

    driver = threading.Thread(target=run)
    driver.start()
    while driver.is_alive() and len(listing(as_path(out) / "stats", "*.json")) < 3:
        time.sleep(0.05)
    assert driver.is_alive(), "the run ended before a node could be lost"
    cluster.remove_node(cluster.list_all_nodes()[1])
    driver.join(timeout=600)
    assert not driver.is_alive() and "summary" in result  # the run finished, without error
    assert shard_bytes(out) == shard_bytes(local)
    keys = [s["__key__"] for s in iter_samples(out)]
    assert len(keys) == len(set(keys)) == result["summary"].samples
