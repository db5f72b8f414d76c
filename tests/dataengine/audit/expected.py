"""What the report must say, computed straight from the index and the curation table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dataengine.corpus.curation import rejected_keys
from dataengine.corpus.read import read_index


def expected_counts(out: Path) -> dict[str, int]:
    """data-count name -> value, for the counts the page shows."""
    rows = read_index(out, columns=["key", "status", "task", "split"]).to_pylist()
    curated = rejected_keys(out)
    counts: Counter = Counter()
    for row in rows:
        counts[f"status:{row['status']}"] += 1
        kind = _kind(row, curated)
        counts[kind] += 1
        counts[f"task:{row['task']}:{kind}"] += 1
        counts[f"split:{row['split']}:{kind}"] += 1
    return dict(counts)


def accepted_by_task(out: Path) -> dict[str, int]:
    rows = read_index(out, columns=["key", "status", "task"]).to_pylist()
    curated = rejected_keys(out)
    return dict(Counter(r["task"] for r in rows if _kind(r, curated) == "accepted"))


def _kind(row: dict, curated: set[str]) -> str:
    if row["status"] == "ok":
        return "curated_out" if row["key"] in curated else "accepted"
    return "rejected" if row["status"] == "rejected" else "failed"
