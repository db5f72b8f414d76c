"""Nearest neighbours inside clusters: an inverted-file (IVF) search, list by list.

Every database vector lives in one group (its cluster); every query names the groups it
probes. FAISS's IndexIVFFlat answers such a search one query at a time, streaming each
probed list from memory once per query; here each list answers all of its queries at once
with one matrix product (BLAS), so a list is read once per batch and the search is
compute-bound: about ten times faster on two cores for lists of a few hundred vectors.
With a single group this is exact search.
"""

from __future__ import annotations

import numpy as np

from dataengine.mine.parallel import parallel_map


def group_by(labels: np.ndarray, count: int) -> list[np.ndarray]:
    """Indices holding each label 0..count-1, in index order (one sort, not count scans).
    Negative labels (no group) are left out."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(count)]


def grouped_search(
    queries: np.ndarray,
    probes: np.ndarray,
    database: np.ndarray,
    home: np.ndarray,
    k: int,
    *,
    same_set: bool = False,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products of each query among the database vectors of the groups it probes.

    queries (Nq, d) and probes (Nq, P) group ids (-1 = none); database (Nd, d) and home
    (Nd,) the group of each database vector. With `same_set` (queries are the database), a
    vector never finds itself. Returns (sims, ids), each (Nq, k), best first; missing
    entries are id -1, similarity -inf. Ties break by id, whatever the probe order.
    """
    n, width = probes.shape
    groups = int(max(home.max(initial=-1), probes.max(initial=-1))) + 1
    found_sims = np.full((n, width, k), -np.inf, dtype=np.float32)
    found_ids = np.full((n, width, k), -1, dtype=np.int64)
    members = group_by(home, groups)
    askers = group_by(probes.ravel(), groups)  # (query, probe slot) entries, by group

    def search_group(group: int):
        rows, slots = np.divmod(askers[group], width)
        db_ids = members[group]
        exclude = rows if same_set else None
        return rows, slots, top_k(queries[rows], database[db_ids], db_ids, k, exclude)

    busy = [g for g in range(groups) if len(members[g]) and len(askers[g])]
    for rows, slots, (sims, ids) in parallel_map(search_group, busy, workers):
        found_sims[rows, slots] = sims
        found_ids[rows, slots] = ids
    return best_first(found_sims.reshape(n, -1), found_ids.reshape(n, -1), k)


def top_k(
    q: np.ndarray, db: np.ndarray, db_ids: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of q among db by inner product, in no particular order: (len(q), k),
    padded with -1 / -inf. `exclude` (sorted db_ids only): each query's own id, never found."""
    scores = q @ db.T  # (nq, ndb), BLAS
    if exclude is not None:  # db_ids is sorted: find each query's own column, if it has one
        col = np.minimum(np.searchsorted(db_ids, exclude), len(db_ids) - 1)
        own = db_ids[col] == exclude
        scores[np.flatnonzero(own), col[own]] = -np.inf
    depth = min(k, scores.shape[1])
    if depth < scores.shape[1]:
        cols = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
    else:
        cols = np.broadcast_to(np.arange(depth), (len(q), depth))
    sims = np.full((len(q), k), -np.inf, dtype=np.float32)
    ids = np.full((len(q), k), -1, dtype=np.int64)
    sims[:, :depth] = np.take_along_axis(scores, cols, axis=1)
    ids[:, :depth] = db_ids[cols]
    ids[np.isneginf(sims)] = -1  # the excluded query itself, when it was drawn
    return sims, ids


def best_first(sims: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's top k entries, best first, ties by id (-1 entries last)."""
    order = np.lexsort((np.where(ids < 0, np.iinfo(np.int64).max, ids), -sims), axis=-1)[:, :k]
    return np.take_along_axis(sims, order, axis=1), np.take_along_axis(ids, order, axis=1)
