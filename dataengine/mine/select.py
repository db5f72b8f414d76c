"""From neighbour lists to pairs: the similarity band, duplicate groups and caps per image.

Above the band's top (`hi`) two images are near-duplicates: they are joined into duplicate
groups (connected components, so a chain of near-copies is one group) and only each group's
representative, its first image, takes part in pairs. Inside the band [lo, hi] each image
proposes its `per_image` most similar neighbours; a pair proposed from both ends counts
once; then pairs are accepted best first while neither image has reached `max_per_image`.
Below `lo` images are unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataengine.mine.params import MiningParams

# Proposals are drawn a block of rows at a time: their temporaries stay a few hundred MB
# whatever the pool (a pool of 10M would need several GB at once).
PROPOSAL_ROWS = 1 << 20


@dataclass
class Selection:
    pairs: np.ndarray  # (M, 2) int64 row indices, a < b, best similarity first
    similarity: np.ndarray  # (M,) float32, as the search found it
    duplicate_of: np.ndarray  # (N,) int64: the representative of each row's group (itself if none)

    def duplicate_groups(self) -> list[np.ndarray]:
        """Groups of two or more near-duplicates, each sorted, the representative first."""
        rows = np.flatnonzero(self.duplicate_of != np.arange(len(self.duplicate_of)))
        reps = np.unique(self.duplicate_of[rows])
        members = {int(r): [int(r)] for r in reps}
        for row in rows:
            members[int(self.duplicate_of[row])].append(int(row))
        return [np.asarray(m) for _, m in sorted(members.items())]


def select_pairs(sims: np.ndarray, ids: np.ndarray, params: MiningParams) -> Selection:
    """`sims`, `ids`: (N, k) neighbour lists sorted best first (id -1 = none)."""
    lo, hi = params.band
    duplicate_of = duplicate_representatives(sims, ids, hi)
    a, b, s = _proposals(sims, ids, duplicate_of, lo, hi, params.per_image)
    a, b, s = _each_pair_once(a, b, s)
    keep = _cap_per_image(a, b, s, len(sims), params.max_per_image)
    return Selection(np.stack([a[keep], b[keep]], axis=1), s[keep], duplicate_of)


def duplicate_representatives(sims: np.ndarray, ids: np.ndarray, hi: float) -> np.ndarray:
    """(N,) the smallest row of each row's near-duplicate group (similarity above hi)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(sims)
    rows, cols = np.nonzero((ids >= 0) & (sims > hi))
    graph = coo_matrix((np.ones(len(rows)), (rows, ids[rows, cols])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    first = np.full(label.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    return first[label]


def _proposals(sims, ids, duplicate_of, lo: float, hi: float, per_image: int):
    """Each representative's `per_image` most similar in-band neighbours that are
    representatives too, as parallel arrays (a, b, similarity)."""
    is_rep = duplicate_of == np.arange(len(sims))
    found = [
        _block_proposals(sims, ids, start, duplicate_of, is_rep, lo, hi, per_image)
        for start in range(0, len(sims), PROPOSAL_ROWS)
    ]
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def _block_proposals(sims, ids, start, duplicate_of, is_rep, lo, hi, per_image):
    sims, ids = sims[start : start + PROPOSAL_ROWS], ids[start : start + PROPOSAL_ROWS]
    mine = slice(start, start + len(sims))
    safe = np.maximum(ids, 0)
    in_band = (ids >= 0) & (sims >= lo) & (sims <= hi) & is_rep[mine, None] & is_rep[safe]
    in_band &= duplicate_of[mine, None] != duplicate_of[safe]
    chosen = in_band & (np.cumsum(in_band, axis=1) <= per_image)  # rows are sorted best first
    rows, cols = np.nonzero(chosen)
    return rows.astype(np.int64) + start, ids[rows, cols], sims[rows, cols]


def _each_pair_once(a: np.ndarray, b: np.ndarray, s: np.ndarray):
    """One entry per unordered pair (lower row first), keeping its best similarity; then
    sorted best first, ties by rows, so the order never depends on the search order."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((-s, hi, lo))
    lo, hi, s = lo[order], hi[order], s[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, s = lo[first], hi[first], s[first]
    best = np.lexsort((hi, lo, -s))
    return lo[best], hi[best], s[best]


def _cap_per_image(a: np.ndarray, b: np.ndarray, s: np.ndarray, n: int, cap: int) -> np.ndarray:
    """Greedy, best pair first: accept a pair while both its images have room. A sequential
    rule (each decision depends on the ones before), so a plain loop; ~1 s per million."""
    count = [0] * n  # Python ints: numpy scalar indexing would be ten times slower here
    keep = [False] * len(a)
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        if count[x] < cap and count[y] < cap:
            keep[i] = True
            count[x] += 1
            count[y] += 1
    return np.asarray(keep, dtype=bool)
