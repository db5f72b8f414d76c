"""Spherical k-means with FAISS, in one or two levels, and the assignment of every vector to
its nearest leaf clusters.

Leaves are the inverted lists of the neighbour search: each vector is searched only against
the members of its `probes` nearest leaves. As in the ACE face pipeline, the second level
runs k-means again inside each first-level cluster. With sqrt(L) clusters at each level
(L = N / cluster_size leaves) neither k-means nor the assignment ever compares a vector
with all L leaves, so the whole pass grows about as N * cluster_size, not as N * L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dataengine.mine.neighbours import best_first, group_by, grouped_search, top_k, widen
from dataengine.mine.parallel import parallel_map
from dataengine.mine.params import MiningParams

ROWS_PER_JOB = 32768  # rows assigned to centroids per parallel job
# A vector's leaves are looked for among the children of its TOP_PROBES nearest first-level
# clusters: with two, a vector near a boundary missed its best leaf often enough to cost
# 13% of neighbour recall on the scale benchmark; with eight, recall is within 0.5% of
# searching every leaf, at a fraction of the cost.
TOP_PROBES = 8


@dataclass
class Clusters:
    """Leaf clusters of a pool: the lists the neighbour search runs in."""

    centroids: np.ndarray  # (L, d) float32, unit rows
    parent: np.ndarray  # (L,) int64: the first-level cluster each leaf came from
    nearest: np.ndarray  # (N, probes) int64: each vector's nearest leaves, best first, -1 = none

    @property
    def leaf(self) -> np.ndarray:
        """(N,) the leaf each vector belongs to (its nearest)."""
        return self.nearest[:, 0]


def cluster_pool(x: np.ndarray, params: MiningParams, workers: int = 1) -> Clusters:
    """Cluster unit vectors `x` (N, d), float32 or float16, into about N / cluster_size leaves."""
    leaves = max(1, math.ceil(len(x) / params.cluster_size))
    if leaves == 1:  # a small pool: one list, so the search is exact
        centroid = _unit(x.mean(axis=0, keepdims=True, dtype=np.float64))
        return Clusters(centroid, np.zeros(1, np.int64), np.zeros((len(x), 1), np.int64))
    if not params.second_level:
        centroids = spherical_kmeans(x, leaves, params, seed=params.seed)
        nearest = nearest_centroids(x, centroids, params.probes, workers)
        return Clusters(centroids, np.arange(len(centroids)), nearest)
    return _two_levels(x, math.ceil(math.sqrt(leaves)), params, workers)


def _two_levels(x: np.ndarray, k1: int, params: MiningParams, workers: int) -> Clusters:
    top = spherical_kmeans(x, k1, params, seed=params.seed)
    top_nearest = nearest_centroids(x, top, max(params.probes, TOP_PROBES), workers)
    members = group_by(top_nearest[:, 0], len(top))

    def split(c: int) -> np.ndarray:
        k2 = max(1, round(len(members[c]) / params.cluster_size))
        # Each split has its own seed, so one cluster's split never shifts another's.
        return spherical_kmeans(x[members[c]], k2, params, seed=params.seed + 1 + c)

    used = [c for c in range(len(top)) if len(members[c])]
    children = list(parallel_map(split, used, workers))
    centroids = np.concatenate(children)
    parent = np.repeat(np.asarray(used, dtype=np.int64), [len(ch) for ch in children])
    # A vector's leaves are the nearest among the children of its nearest top clusters.
    _, nearest = grouped_search(x, top_nearest, centroids, parent, params.probes, workers=workers)
    return Clusters(centroids, parent, nearest)


def spherical_kmeans(x: np.ndarray, k: int, params: MiningParams, seed: int) -> np.ndarray:
    """(k, d) unit centroids, k at most len(x). Trained on a seeded sample of at most
    sample_per_cluster * k vectors, so training cost follows k, not the pool size; only the
    sample is widened to float32 (FAISS would copy the whole pool)."""
    import faiss

    k = min(k, len(x))
    if k == 1:
        return _unit(x.mean(axis=0, keepdims=True, dtype=np.float64))
    limit = params.sample_per_cluster * k
    if len(x) > limit:
        rows = np.random.default_rng(seed).choice(len(x), limit, replace=False)
        x = x[np.sort(rows)]
    kmeans = faiss.Kmeans(
        x.shape[1],
        k,
        niter=params.iterations,
        seed=seed,
        spherical=True,
        max_points_per_centroid=params.sample_per_cluster,
        min_points_per_centroid=1,  # small pools are fine: no warning for them
        verbose=False,
    )
    kmeans.train(widen(x))
    return _unit(kmeans.centroids)


def nearest_centroids(
    x: np.ndarray, centroids: np.ndarray, probes: int, workers: int = 1
) -> np.ndarray:
    """(N, probes) each vector's most similar centroids, best first, by exact search;
    -1 where there are fewer centroids than probes."""
    labels = np.arange(len(centroids))

    def assign(start: int) -> np.ndarray:
        block = x[start : start + ROWS_PER_JOB]
        return best_first(*top_k(block, centroids, labels, probes), probes)[1]

    starts = range(0, len(x), ROWS_PER_JOB)
    return np.concatenate(list(parallel_map(assign, starts, workers)))


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(v, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
