"""`ace data select DIR`: the selection rules that need the whole corpus, after the run.

Near duplicates: samples of one task whose perceptual codes (phash.py) are at most
`dedup_distance` bits apart, in any split. Going through bench, then val, then train, each in
key order, a sample with a kept near neighbour is rejected and the reason names that
neighbour: a train copy of a benchmark sample goes, the frozen benchmark stays whole.
FAISS's multi-hash binary index finds every pair within the distance without comparing all
pairs: with distance + 1 substrings, two codes that close agree exactly on one of them.

Quotas: per task and split (train by default), the samples beyond `quotas[task]` or
`max_per_task` are rejected, keeping the highest `rank_by` score, or a fair draw by key.

Decisions go to the curation table (DIR/curation/0-selection.parquet), which the trainer,
`ace data export` and the audit honour; shards are not rewritten. The parameters are those of
the recipe's `select` stage, read from run.json.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dataengine.corpus.curation import (
    SELECTION_FILE,
    decision_rows,
    read_decisions,
    write_selection,
)
from dataengine.quality import phash
from dataengine.quality.select import Select, SelectParams
from dataengine.schema import STATUS_OK
from dataengine.sinks.layout import Layout
from dataengine.sinks.lock import output_lock
from dataengine.storage import as_path, read_parquet, read_parquet_schema

log = logging.getLogger(__name__)
BY = "selection"
SPLIT_ORDER = ("bench", "val", "train")  # who keeps a sample found in two splits


@dataclass
class SelectionSummary:
    hashed_shards: int
    near_duplicates: int
    over_quota: int
    path: Path


def select_corpus(
    out: str | Path, executor: Any, params: SelectParams | None = None
) -> SelectionSummary:
    """Select over the corpus in `out`; the shards are hashed on `executor` (an Executor).
    A run still writing into `out` holds its lock: selection waits for no one, it refuses."""
    out = as_path(out)
    params = params or params_from_run(out)
    with output_lock(out, "command"):
        return _select(out, executor, params)


def _select(out: Path, executor: Any, params: SelectParams) -> SelectionSummary:
    hashed, rejected = 0, []
    if params.dedup:
        hashed = hash_stale_shards(out, executor)
        rejected += near_duplicates(phash.read_codes(out), params.dedup_distance)
    duplicates = len(rejected)
    rejected += over_quota(out, params, excluded={key for key, _ in rejected})
    at = _run_ended(out)
    rows = [r for key, why in rejected for r in decision_rows([key], "reject", why, BY, at)]
    path = write_selection(out, rows)
    log.info("selection: %d near duplicates, %d over quota", duplicates, len(rows) - duplicates)
    return SelectionSummary(hashed, duplicates, len(rows) - duplicates, path)


def params_from_run(out: Path) -> SelectParams:
    """The `select` stage's parameters from the run's recipe; defaults when it has none."""
    run = Layout(out).run_info
    if not run.exists():
        raise FileNotFoundError(f"{out} has no run.json; run `ace data run` into it first")
    stages = json.loads(run.read_text())["recipe"].get("stages", [])
    spec = next((dict(s) for s in stages if s.get("stage") == Select.name), {})
    spec.pop("stage", None)
    params = SelectParams(**spec)
    Select.validate(params)
    return params


def hash_stale_shards(out: Path, executor: Any) -> int:
    stale = phash.stale_shards(out)
    tars = [str(Layout(out).tar(s)) for s in stale]
    results = executor.map_batches(tars, _hasher)
    for shard, table in zip(stale, results, strict=True):
        phash.store(out, shard, table)
    return len(stale)


def _hasher():
    return phash.hash_shard


def near_duplicates(codes, distance: int) -> list[tuple[str, str]]:
    """(key, reason) for every sample with a kept near neighbour of its task."""
    keys = np.array(codes.column("key").to_pylist(), dtype=object)
    tasks = np.array(codes.column("task").to_pylist(), dtype=object)
    ranks = np.array([SPLIT_ORDER.index(s) for s in codes.column("split").to_pylist()])
    bits = np.frombuffer(b"".join(codes.column("code").to_pylist()), np.uint8)
    bits = bits.reshape(len(keys), phash.CODE_BYTES)
    rejected = []
    for task in sorted(set(tasks)):
        members = np.flatnonzero(tasks == task)
        members = members[np.lexsort((keys[members], ranks[members]))]
        rejected += _greedy_dedup(keys[members], bits[members], distance)
    return rejected


def _greedy_dedup(keys: np.ndarray, bits: np.ndarray, distance: int) -> list[tuple[str, str]]:
    import faiss

    substrings = distance + 1
    index = faiss.IndexBinaryMultiHash(8 * phash.CODE_BYTES, substrings, min(64, 128 // substrings))
    index.add(bits)
    lims, dists, ids = index.range_search(bits, distance + 1)  # FAISS keeps d < radius
    kept, rejected = np.zeros(len(keys), bool), []
    for q in range(len(keys)):
        span = slice(lims[q], lims[q + 1])
        near = [(d, j) for d, j in zip(dists[span], ids[span], strict=True) if j < q and kept[j]]
        if near:
            d, j = min(near)
            rejected.append((keys[q], f"near_duplicate: {int(d)} bits from {keys[j]}"))
        else:
            kept[q] = True
    return rejected


def over_quota(out: Path, params: SelectParams, excluded: set[str]) -> list[tuple[str, str]]:
    """(key, reason) for the samples past their task's quota, per split."""
    if params.max_per_task is None and not params.quotas:
        return []
    people = read_decisions(out, exclude=(SELECTION_FILE,))
    excluded = excluded | {k for k, row in people.items() if row["decision"] == "reject"}
    groups = defaultdict(list)
    for row in _ok_rows(out, params.rank_by):
        if row["split"] in params.quota_splits and row["key"] not in excluded:
            groups[(row["split"], row["task"])].append(row)
    rejected = []
    for (split, task), rows in sorted(groups.items()):
        quota, rule = _quota(params, task)
        if quota is None or len(rows) <= quota:
            continue
        rows.sort(key=lambda r: (-_rank(r.get("rank")), r["key"]))
        why = f"quota: {task} in {split} keeps {quota} of {len(rows)} ({rule})"
        rejected += [(r["key"], why) for r in rows[quota:]]
    return rejected


def _quota(params: SelectParams, task: str) -> tuple[int | None, str]:
    if task in params.quotas:
        return params.quotas[task], f"quotas.{task}"
    return params.max_per_task, "max_per_task"


def _rank(value: float | None) -> float:
    return -np.inf if value is None or np.isnan(value) else value


def _ok_rows(out: Path, rank_by: str | None):
    """key, split, task (and rank) of the ok rows, shard by shard."""
    layout = Layout(out)
    for shard in layout.complete_shards():
        path = layout.index(shard)
        names = set(read_parquet_schema(path).names)
        column = f"score_{rank_by}" if rank_by else None
        columns = ["key", "status", "split", "task"] + ([column] if column in names else [])
        for row in read_parquet(path, columns=columns).to_pylist():
            if row["status"] == STATUS_OK:
                row["rank"] = row.pop(column, None) if column else None
                yield row


def _run_ended(out: Path) -> str | None:
    """Decisions are dated by the run they judge, so a pass over the same run writes the
    same file."""
    run = Layout(out).run_info
    return json.loads(run.read_text()).get("ended") if run.exists() else None
