"""`ace data stats DIR`: counts per split, category, task and status, and score bands.

Rows are told apart as `ace data audit` tells them: a sample in the shards is accepted or
curated out (rejected by the curation table, still in the shards); a row not in the shards
is rejected (by a threshold, or by the curation table on export) or failed (any other
status). `samples` counts every sample in the shards, curated out or not.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from dataengine.corpus.curation import rejected_keys
from dataengine.corpus.read import read_index
from dataengine.schema import STATUS_OK, STATUS_REJECTED

BANDS = 5
TITLES = {"failed_by_task": "rejected or failed, by task"}


def corpus_stats(out: str | Path) -> dict:
    table = read_index(out)
    rows = table.select(["key", "split", "category", "task", "status"]).to_pylist()
    ok = [r for r in rows if r["status"] == STATUS_OK]
    curated_out = len({r["key"] for r in ok} & rejected_keys(out))
    rejected = sum(r["status"] == STATUS_REJECTED for r in rows)
    return {
        "rows": len(rows),
        "samples": len(ok),
        "accepted": len(ok) - curated_out,
        "curated_out": curated_out,
        "rejected": rejected,
        "failed": len(rows) - len(ok) - rejected,
        "by_split": _count(r["split"] for r in ok),
        "by_category": _count(r["category"] for r in ok),
        "by_task": _count(r["task"] for r in ok),
        "by_status": _count(r["status"] for r in rows),
        # every row not in the shards, rejected or failed (the key predates that split)
        "failed_by_task": _count(r["task"] for r in rows if r["status"] != STATUS_OK),
        "score_bands": {
            name[len("score_") :]: _bands(table.column(name).to_numpy(False))
            for name in table.column_names
            if name.startswith("score_")
        },
    }


def _count(values) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _bands(values: np.ndarray) -> dict[str, int]:
    values = values[~np.isnan(values.astype(float))]
    if values.size == 0:
        return {}
    edges = np.linspace(values.min(), values.max(), BANDS + 1)
    counts, _ = np.histogram(values, bins=edges)
    return {
        f"{lo:.3g}..{hi:.3g}": int(c)
        for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)
    }


def counted(n: int, noun: str) -> str:
    """'1 problem', '2 problems': counts in messages read as sentences."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_stats(stats: dict) -> str:
    samples = counted(stats["samples"], "sample")
    if stats["curated_out"]:
        samples += f" ({stats['accepted']} accepted, {stats['curated_out']} curated out)"
    rows = (
        f"{counted(stats['rows'], 'row')} ({stats['rejected']} rejected, {stats['failed']} failed)"
    )
    lines = [f"{samples}, {rows}"]
    for title in ("by_split", "by_category", "by_task", "by_status", "failed_by_task"):
        if stats[title]:
            lines.append(f"\n{TITLES.get(title, title.replace('_', ' '))}:")
            width = max(len(k) for k in stats[title])
            lines += [f"  {k:<{width}}  {v:>7}" for k, v in stats[title].items()]
    for name, bands in stats["score_bands"].items():
        lines.append(f"\nscore {name}:")
        lines += [f"  {band:<20}  {count:>7}" for band, count in bands.items()]
    return "\n".join(lines)
