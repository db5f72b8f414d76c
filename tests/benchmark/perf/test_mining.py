"""The mining benchmark's own yardsticks: ground truth from the shapes world, and the
synthetic mixture's structure. A wrong yardstick would report wrong figures."""

from __future__ import annotations

import numpy as np

from benchmark.perf import mining
from dataengine.sources.shapes_world import make_family


def truth_of(family: dict) -> list[dict]:
    return [
        {"family": family["id"], "member": m["member"], "scene": m["scene"], "copy": False}
        for m in family["members"]
    ]


def test_one_attribute_apart_matches_the_family_edits():
    members = truth_of(make_family(3, seed=0, members=6))
    base, others = members[0], members[1:]
    assert all(mining._one_edit_apart(base, m) for m in others)
    assert not mining._one_edit_apart(base, base)
    two_edits = [not mining._one_edit_apart(a, b) for a in others for b in others if a is not b]
    assert sum(two_edits) >= len(two_edits) * 0.6  # most member pairs are two edits apart
    stranger = truth_of(make_family(4, seed=0, members=2))[0]
    assert not mining._one_edit_apart(base, stranger)


def test_scores_count_right_and_wrong_pairs():
    truth = {
        f"{name}{i}": t
        for name, index in (("a", 0), ("b", 1))
        for i, t in enumerate(truth_of(make_family(index, seed=0, members=2)))
    }
    scores = mining.score_pairs([("a0", "a1"), ("a0", "b1")], truth)
    assert scores["family_precision"] == 0.5 and scores["one_edit_precision"] == 0.5
    assert scores["one_edit_recall"] == 1 / 2  # of a0-a1 and b0-b1


def test_mixture_has_the_structure_it_claims():
    x, family, copy_of = mining.mixture(6000)
    assert x.shape == (6000, mining.DIM)
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    first, second = np.flatnonzero(family == family[100])[:2]
    assert 0.85 < x[first] @ x[second] < 0.95
    copies = np.flatnonzero(copy_of >= 0)
    assert 0.005 < len(copies) / len(x) < 0.02
    assert (np.einsum("ij,ij->i", x[copies], x[copy_of[copies]]) > 0.98).all()
    assert abs(x[0] @ x[np.flatnonzero(family > family[0] + 500)[0]]) < 0.7
    prefix, _, _ = mining.mixture(1000)
    assert np.array_equal(prefix, x[:1000])  # the 100k subset is the 1M pool's first rows


def test_exact_neighbours_in_blocks_are_brute_force():
    x, _, _ = mining.mixture(3000, dtype=np.float16)
    rows = np.array([0, 5, 1234, 2999])
    sims, ids = mining.exact_neighbours(x, rows, 5, block=700)  # several blocks
    full = x[rows].astype(np.float32) @ x.astype(np.float32).T
    full[np.arange(len(rows)), rows] = -np.inf  # a row is never its own neighbour
    expected = np.argsort(-full, axis=1, kind="stable")[:, :5]
    assert np.array_equal(ids, expected)
    assert np.allclose(sims, np.take_along_axis(full, expected, 1), atol=1e-5)


def test_a_float16_scale_run_reports_recall_against_exact_search():
    run = mining.scale_run(4000, "float16", recall_queries=100, probes=2)
    assert run["data_gb"] == 4000 * mining.DIM * 2 / 2**30  # held in half precision
    assert run["queries"] == 100 and run["in_band_neighbours"] > 100
    assert 0.9 < run["recall_ours"] <= 1.0
    assert run["precision"] > 0.99  # mined pairs stay inside their family


def test_search_work_counts_one_product_per_probing_query_and_leaf_member():
    from dataengine.mine.cluster import Clusters

    nearest = np.array([[0, 1], [0, -1], [1, 0], [2, 1]])  # leaves 0, 0, 1, 2
    clusters = Clusters(np.eye(3, dtype=np.float32), np.zeros(3, np.int64), nearest)
    work = mining.search_work(clusters, seconds=2.0)
    # leaf 0: 2 members asked 3 times; leaf 1: 1 member asked 3 times; leaf 2: 1 x 1
    assert work["search_products"] == 3 * 2 + 3 * 1 + 1 * 1
    assert work["products_per_probe"] == 10 / 7
    assert work["leaf_size_max"] == 2 and work["products_per_s"] == 5.0
