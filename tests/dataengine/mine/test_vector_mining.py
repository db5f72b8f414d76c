"""Clustering and neighbour search: exact on small pools, near-exact through clusters, and the
same result whatever the number of threads."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.mine.cluster import cluster_pool, spherical_kmeans
from dataengine.mine.neighbours import grouped_search
from dataengine.mine.params import MiningParams
from dataengine.mine.vector_mining import mine_vectors, search_in_clusters
from tests.dataengine.mine.vectors import blobs, unit


def exact_neighbours(x: np.ndarray, k: int) -> np.ndarray:
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]


def test_one_cluster_search_is_exact():
    x = unit(np.random.default_rng(1).standard_normal((120, 16)))
    clusters = cluster_pool(x, MiningParams(cluster_size=1000))
    assert len(clusters.centroids) == 1
    sims, ids = search_in_clusters(x, clusters, 5)
    assert (ids == exact_neighbours(x, 5)).all()
    assert np.allclose(sims, np.take_along_axis(x @ x.T, ids, axis=1), atol=1e-5)
    assert (sims[:, :-1] >= sims[:, 1:]).all()  # best first


def test_two_level_clusters_keep_blob_neighbours():
    x, label = blobs(12, 50, dim=24, spread=0.08)
    params = MiningParams(cluster_size=60)
    clusters = cluster_pool(x, params)
    assert len(clusters.centroids) >= 8  # about 600 / 60 leaves, under 4 first-level clusters
    assert len(np.unique(clusters.parent)) < len(clusters.centroids)
    _, ids = search_in_clusters(x, clusters, 5)
    exact = exact_neighbours(x, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ids, exact, strict=True)])
    assert recall > 0.95
    assert (label[ids] == label[:, None]).mean() > 0.99


def test_grouped_search_respects_groups_and_pads():
    db = unit(np.eye(4, dtype=np.float32) + 0.01)
    home = np.array([0, 0, 1, 1])
    queries = db[[0]]
    sims, ids = grouped_search(queries, np.array([[1, -1]]), db, home, 3)
    assert ids.tolist() == [[2, 3, -1]]  # only group 1 is probed; a third neighbour is missing
    assert sims[0, 2] == -np.inf


def test_spherical_kmeans_gives_unit_centroids_near_the_blobs():
    x, _ = blobs(4, 40, dim=8, spread=0.02, seed=3)
    centroids = spherical_kmeans(x, 4, MiningParams(), seed=0)
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1, atol=1e-5)
    best = (x @ centroids.T).max(axis=1)
    assert best.min() > 0.98  # every vector sits on a centroid


def test_mining_is_deterministic_across_runs_and_threads():
    x, _ = blobs(20, 30, dim=16, spread=0.15, seed=4)
    params = MiningParams(band=(0.8, 0.995), cluster_size=80, seed=3)
    one = mine_vectors(x, params, workers=1)
    two = mine_vectors(x, params, workers=2)
    again = mine_vectors(x, params, workers=2)
    for other in (two, again):
        assert np.array_equal(one.selection.pairs, other.selection.pairs)
        assert np.array_equal(one.clusters.nearest, other.clusters.nearest)
    assert len(one.selection.pairs) > 100


def test_mined_pairs_stay_in_their_blob():
    x, label = blobs(10, 20, dim=32, spread=0.1, seed=5)
    mined = mine_vectors(x, MiningParams(band=(0.5, 0.999), cluster_size=50))
    a, b = mined.selection.pairs.T
    assert len(a) >= 100 and (label[a] == label[b]).all()
    assert (a < b).all()


@pytest.mark.parametrize("n", [0, 1])
def test_a_pool_too_small_to_pair(n):
    mined = mine_vectors(np.ones((n, 4), np.float32) / 2, MiningParams())
    assert mined.selection.pairs.shape == (0, 2)
    assert mined.selection.duplicate_groups() == []


def test_float16_pool_mines_the_same_pairs_in_half_the_memory():
    x, label = blobs(20, 30, dim=16, spread=0.15, seed=4)
    params = MiningParams(band=(0.8, 0.995), cluster_size=80, seed=3)
    full = mine_vectors(x, params)
    half = mine_vectors(x.astype(np.float16), params)
    assert half.neighbours[0].dtype == np.float32  # products summed in float32
    same = {tuple(p) for p in full.selection.pairs} & {tuple(p) for p in half.selection.pairs}
    assert len(same) >= 0.98 * len(full.selection.pairs)
    a, b = half.selection.pairs.T
    assert (label[a] == label[b]).all()


def test_precision_is_checked_by_name():
    with pytest.raises(ValueError, match="precision: 'bfloat16' is not one of float32, float16"):
        MiningParams(precision="bfloat16").check()


def test_search_in_blocks_of_queries_equals_one_block(monkeypatch):
    from dataengine.mine import neighbours

    x, _ = blobs(6, 40, dim=12, spread=0.2, seed=6)
    clusters = cluster_pool(x, MiningParams(cluster_size=60))
    whole = search_in_clusters(x, clusters, 6, workers=2)
    monkeypatch.setattr(neighbours, "QUERY_BLOCK", 7)  # many blocks per leaf
    blocked = search_in_clusters(x, clusters, 6, workers=2)
    assert np.array_equal(whole[1], blocked[1])
    assert np.allclose(whole[0], blocked[0], atol=1e-6)  # BLAS sums by shape: last bits
