"""Pair selection: the band, duplicate groups, one entry per pair and the caps per image."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.mine.params import MiningParams
from dataengine.mine.select import duplicate_representatives, select_pairs


def neighbour_lists(sim: np.ndarray, k: int):
    """Exact (sims, ids) lists from a full similarity matrix, self left out."""
    sim = sim.astype(np.float32).copy()
    np.fill_diagonal(sim, -np.inf)
    ids = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sim, ids, axis=1), ids


def matrix(n: int, entries: dict[tuple[int, int], float], rest: float = 0.1) -> np.ndarray:
    sim = np.full((n, n), rest, dtype=np.float32)
    for (a, b), s in entries.items():
        sim[a, b] = sim[b, a] = s
    return sim


def pairs_of(selection) -> set[tuple[int, int]]:
    return {tuple(p) for p in selection.pairs.tolist()}


def test_only_pairs_inside_the_band_are_kept():
    sim = matrix(6, {(0, 1): 0.85, (2, 3): 0.75, (4, 5): 0.99})
    params = MiningParams(band=(0.8, 0.97))
    selection = select_pairs(*neighbour_lists(sim, 3), params)
    assert pairs_of(selection) == {(0, 1)}  # 0.75 is unrelated, 0.99 a duplicate
    assert selection.similarity.tolist() == pytest.approx([0.85])


def test_band_edges_are_inclusive():
    sim = matrix(4, {(0, 1): 0.8, (2, 3): 0.97})
    selection = select_pairs(*neighbour_lists(sim, 2), MiningParams(band=(0.8, 0.97)))
    assert pairs_of(selection) == {(0, 1), (2, 3)}


def test_near_duplicates_form_groups_and_only_representatives_pair():
    # 0~1~2 a chain of near-copies (0 and 2 not directly above hi), 3 an edit of 1.
    sim = matrix(5, {(0, 1): 0.99, (1, 2): 0.985, (0, 2): 0.96, (1, 3): 0.9, (0, 3): 0.88})
    selection = select_pairs(*neighbour_lists(sim, 4), MiningParams(band=(0.8, 0.98)))
    assert [g.tolist() for g in selection.duplicate_groups()] == [[0, 1, 2]]
    assert selection.duplicate_of.tolist() == [0, 0, 0, 3, 4]
    assert pairs_of(selection) == {(0, 3)}  # 1-3 is more similar, but 1 is a copy of 0


def test_duplicate_representative_is_the_smallest_row():
    sims = np.array([[0.99], [0.99], [0.5]], dtype=np.float32)
    ids = np.array([[1], [0], [0]])
    assert duplicate_representatives(sims, ids, 0.98).tolist() == [0, 0, 2]


def test_a_pair_found_from_both_ends_is_emitted_once():
    sim = matrix(2, {(0, 1): 0.9})
    selection = select_pairs(*neighbour_lists(sim, 1), MiningParams(band=(0.8, 0.97)))
    assert selection.pairs.tolist() == [[0, 1]]


def test_each_image_proposes_its_best_in_band_neighbours():
    sim = matrix(4, {(0, 1): 0.95, (0, 2): 0.9, (0, 3): 0.85, (1, 2): 0.5, (2, 3): 0.5})
    one = select_pairs(*neighbour_lists(sim, 3), MiningParams(band=(0.8, 0.97), per_image=1))
    # 0 proposes 1; 1, 2 and 3 each propose 0 (their only in-band neighbour).
    assert pairs_of(one) == {(0, 1), (0, 2), (0, 3)}
    capped = MiningParams(band=(0.8, 0.97), per_image=1, max_per_image=2)
    assert pairs_of(select_pairs(*neighbour_lists(sim, 3), capped)) == {(0, 1), (0, 2)}


def test_hub_is_capped_best_pairs_first():
    # Ten images all close to image 0 and to nothing else.
    n = 11
    sim = matrix(n, {(0, j): 0.80 + 0.01 * j for j in range(1, n)})
    params = MiningParams(band=(0.8, 0.97), per_image=1, max_per_image=3)
    selection = select_pairs(*neighbour_lists(sim, 5), params)
    assert pairs_of(selection) == {(0, 10), (0, 9), (0, 8)}
    assert selection.similarity.tolist() == pytest.approx([0.90, 0.89, 0.88])


def test_missing_neighbours_are_ignored():
    sims = np.array([[0.9, -np.inf], [0.9, -np.inf]], dtype=np.float32)
    ids = np.array([[1, -1], [0, -1]])
    selection = select_pairs(sims, ids, MiningParams(band=(0.8, 0.97)))
    assert pairs_of(selection) == {(0, 1)}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"band": (0.9, 0.8)}, "band"),
        ({"band": (0.5, 1.2)}, "band"),
        ({"neighbours": 0}, "neighbours"),
        ({"per_image": 11}, "per_image"),
        ({"cluster_size": 0}, "cluster_size"),
    ],
)
def test_bad_parameters_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        MiningParams(**changes).check()


def test_proposals_drawn_in_row_blocks_equal_one_block(monkeypatch):
    from dataengine.mine import select
    from tests.dataengine.mine.vectors import blobs

    x, _ = blobs(8, 12, dim=8, spread=0.2, seed=2)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    ids = np.argsort(-sims, axis=1, kind="stable")[:, :6]
    sims = np.take_along_axis(sims, ids, axis=1)
    params = MiningParams(band=(0.7, 0.99))
    whole = select_pairs(sims, ids, params)
    monkeypatch.setattr(select, "PROPOSAL_ROWS", 5)
    blocked = select_pairs(sims, ids, params)
    assert len(whole.pairs) > 10
    assert np.array_equal(whole.pairs, blocked.pairs)
    assert np.array_equal(whole.similarity, blocked.similarity)
