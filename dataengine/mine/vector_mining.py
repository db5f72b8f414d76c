"""One mining pass over a pool of unit vectors: cluster, search inside clusters, select."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from dataengine.machine import cores
from dataengine.mine.cluster import Clusters, cluster_pool
from dataengine.mine.neighbours import grouped_search
from dataengine.mine.parallel import one_thread_per_job
from dataengine.mine.params import MiningParams
from dataengine.mine.select import Selection, select_pairs


@dataclass
class Mined:
    clusters: Clusters
    selection: Selection
    neighbours: tuple[np.ndarray, np.ndarray] | None = None  # (sims, ids), each (N, k)
    seconds: dict[str, float] = field(default_factory=dict)  # per step, for the report


def mine_vectors(x: np.ndarray, params: MiningParams, workers: int | None = None) -> Mined:
    """`x`: (N, d) unit rows, float32, or float16 to hold a pool of millions in half the
    memory (similarities are still summed in float32). The result depends on x and params
    only, not on the number of `workers` (threads; default: every core)."""
    params.check()
    workers = workers or cores()
    with one_thread_per_job():
        return _mine(x, params, workers)


def _mine(x: np.ndarray, params: MiningParams, workers: int) -> Mined:
    if len(x) < 2:  # nothing to pair
        empty = np.zeros((len(x), 1), dtype=np.int64)
        clusters = Clusters(x[:1].copy(), np.zeros(min(1, len(x)), np.int64), empty)
        return Mined(
            clusters,
            Selection(np.zeros((0, 2), np.int64), np.zeros(0, np.float32), np.arange(len(x))),
        )
    x = np.ascontiguousarray(x, dtype=np.float16 if x.dtype == np.float16 else np.float32)
    seconds, started = {}, time.perf_counter()

    def lap(step: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[step] = round(now - started, 3)
        started = now

    clusters = cluster_pool(x, params, workers)
    lap("cluster")
    sims, ids = search_in_clusters(x, clusters, params.neighbours, workers)
    lap("search")
    selection = select_pairs(sims, ids, params)
    lap("select")
    return Mined(clusters, selection, (sims, ids), seconds)


def search_in_clusters(
    x: np.ndarray, clusters: Clusters, k: int, workers: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Each vector's k most similar others among the members of its nearest leaves."""
    return grouped_search(x, clusters.nearest, x, clusters.leaf, k, same_set=True, workers=workers)
