"""`ace data stats DIR`: counts per split, category, task and status, and score bands."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from dataengine.corpus.read import read_index

BANDS = 5


def corpus_stats(out: str | Path) -> dict:
    table = read_index(out)
    rows = table.select(["split", "category", "task", "status"]).to_pylist()
    ok = [r for r in rows if r["status"] == "ok"]
    return {
        "rows": len(rows),
        "samples": len(ok),
        "by_split": _count(r["split"] for r in ok),
        "by_category": _count(r["category"] for r in ok),
        "by_task": _count(r["task"] for r in ok),
        "by_status": _count(r["status"] for r in rows),
        "failed_by_task": _count(r["task"] for r in rows if r["status"] != "ok"),
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


def format_stats(stats: dict) -> str:
    lines = [
        f"{stats['samples']} samples, {stats['rows']} rows "
        f"({stats['rows'] - stats['samples']} failed)"
    ]
    for title in ("by_split", "by_category", "by_task", "by_status", "failed_by_task"):
        if stats[title]:
            lines.append(f"\n{title.replace('_', ' ')}:")
            width = max(len(k) for k in stats[title])
            lines += [f"  {k:<{width}}  {v:>7}" for k, v in stats[title].items()]
    for name, bands in stats["score_bands"].items():
        lines.append(f"\nscore {name}:")
        lines += [f"  {band:<20}  {count:>7}" for band, count in bands.items()]
    return "\n".join(lines)
