"""Nearest neighbours inside clusters: an inverted-file (IVF) search, list by list.

Every database vector lives in one group (its cluster); every query names the groups it
probes. FAISS's IndexIVFFlat answers such a search one query at a time, streaming each
probed list from memory once per query; here each list answers all of its queries at once
with one matrix product (BLAS), so a list is read once per batch and the search is
compute-bound: about ten times faster on two cores for lists of a few hundred vectors.
With a single group this is exact search.

Vectors may be stored as float16 (half the memory of a pool of millions); each list and its
queries are widened to float32 as they are searched, so every product runs in float32.
"""

from __future__ import annotations

import numpy as np

from dataengine.mine.parallel import parallel_map

# Queries of one group searched per job: a group of first-level clusters is asked by up to
# N * probes / groups vectors (800k at 10M), too many to widen to float32 at once.
QUERY_BLOCK = 32768


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
    best_sims = np.full((n, k), -np.inf, dtype=np.float32)
    best_ids = np.full((n, k), -1, dtype=np.int64)
    members = group_by(home, groups)
    askers = group_by(probes.ravel(), groups)  # (query, probe slot) entries, by group

    def search_block(job: tuple[int, int]):
        group, start = job
        rows = askers[group][start : start + QUERY_BLOCK] // width  # one probe per group
        db_ids = members[group]
        exclude = rows if same_set else None
        return rows, top_k(queries[rows], database[db_ids], db_ids, k, exclude)

    # Each block's answers are merged into a running top-k as they come: memory holds (N, k),
    # not (N, probes * k). Ties break by id, so the merge order never shows in the result.
    jobs = [
        (g, start)
        for g in range(groups)
        if len(members[g])
        for start in range(0, len(askers[g]), QUERY_BLOCK)
    ]
    for rows, (sims, ids) in parallel_map(search_block, jobs, workers):
        merged = best_first(
            np.concatenate([best_sims[rows], sims], axis=1),
            np.concatenate([best_ids[rows], ids], axis=1),
            k,
        )
        best_sims[rows], best_ids[rows] = merged
    return best_sims, best_ids


def top_k(
    q: np.ndarray, db: np.ndarray, db_ids: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of q among db by inner product, in no particular order: (len(q), k),
    padded with -1 / -inf. `exclude` (sorted db_ids only): each query's own id, never found."""
    scores = widen(q) @ widen(db).T  # (nq, ndb), BLAS
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


def widen(x: np.ndarray) -> np.ndarray:
    """float32 rows for BLAS (a copy only when stored as float16)."""
    return np.asarray(x, dtype=np.float32)
