"""A Ray cluster of two nodes on one machine gives the same samples as one process."""

import pytest
import ray
from ray.cluster_utils import Cluster

from dataengine.executors.ray import RayExecutor
from dataengine.runner import run_recipe
from tests.helpers import shard_bytes

pytestmark = pytest.mark.slow


def test_two_node_cluster_gives_the_same_shards(reference, tiny_recipe, tmp_path):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, configure_logging=False, log_to_driver=False)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        summary = run_recipe(tiny_recipe, tmp_path, RayExecutor(), progress=False)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert summary.samples > 0
    assert shard_bytes(tmp_path) == shard_bytes(reference)
    assert summary.nodes == 2  # both nodes wrote shards
