"""What the audit report shows, gathered in two streaming passes over the Parquet index.

Pass one counts rows and finds each score's range; pass two fills histograms between those
ranges and samples pairs per score band. Only counters and bounded samples are kept, so
memory does not grow with the corpus. Samples are the smallest keys of their group: keys are
content hashes, so that is a fair draw, and the same one on every run.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dataengine.corpus.curation import read_decisions
from dataengine.schema import STATUS_OK, STATUS_REJECTED
from dataengine.sinks.layout import Layout
from dataengine.storage import as_path, read_parquet

FIXED = ["key", "status", "error", "split", "task", "category", "instruction"]


@dataclass
class Limits:
    per_task: int = 6  # gallery samples per task
    per_band: int = 2  # samples per score band
    bands: int = 5
    bins: int = 30  # histogram bins
    rejected_rows: int = 200  # rejected rows listed (with reasons and scores)
    curated: int = 48  # samples rejected by the curation table, shown with their images


@dataclass
class Item:
    """One sampled pair: enough to caption its strip."""

    key: str
    shard: str
    task: str
    instruction: str | None
    scores: dict[str, float]
    status: str = STATUS_OK
    reason: str | None = None


@dataclass
class TaskCounts:
    category: str
    ok: int = 0  # written to the shards
    accepted: int = 0  # ok and not rejected in the curation table
    rejected: int = 0  # by a threshold while building
    curated_out: int = 0  # by the curation table (near duplicate, quota, a person)
    failed: int = 0  # any other status


@dataclass
class Histogram:
    edges: np.ndarray
    accepted: np.ndarray
    rejected: np.ndarray


@dataclass
class Band:
    low: float
    high: float
    items: list[Item]


@dataclass
class Summary:
    rows: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_split: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_category: Counter = field(default_factory=Counter)  # accepted samples
    tasks: dict[str, TaskCounts] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)  # why samples were removed
    ranges: dict[str, list[float]] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    gallery: dict[str, list[Item]] = field(default_factory=dict)
    bands: dict[str, list[Band]] = field(default_factory=dict)
    rejected: list[Item] = field(default_factory=list)
    curated: list[Item] = field(default_factory=list)
    failed_examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return sum(t.accepted for t in self.tasks.values())

    def sampled(self) -> list[Item]:
        """Every item whose strip the page shows (they are all in the shards)."""
        items = [i for group in self.gallery.values() for i in group] + self.curated
        items += [i for bands in self.bands.values() for b in bands for i in b.items]
        return items


class Smallest:
    """The k items with the smallest keys seen so far, in bounded memory."""

    def __init__(self, k: int):
        self.k, self.items = k, []

    def add(self, key: str, item) -> None:
        self.items.append((key, item))
        if len(self.items) >= 2 * self.k + 16:
            self._trim()

    def result(self) -> list:
        self._trim()
        return [item for _, item in self.items]

    def _trim(self) -> None:
        self.items = sorted(self.items, key=lambda pair: pair[0])[: self.k]


# --------------------------------------------------------------------------------------------
# The passes
# --------------------------------------------------------------------------------------------


def summarise(out: str | Path, limits: Limits | None = None) -> Summary:
    out, limits = as_path(out), limits or Limits()
    decisions = {k: r for k, r in read_decisions(out).items() if r["decision"] == "reject"}
    summary = Summary()
    _first_pass(out, decisions, limits, summary)
    _second_pass(out, decisions, limits, summary)
    return summary


def _first_pass(out: Path, decisions: dict, limits: Limits, summary: Summary) -> None:
    gallery = defaultdict(lambda: Smallest(limits.per_task))
    rejected, curated = Smallest(limits.rejected_rows), Smallest(limits.curated)
    failed = defaultdict(lambda: Smallest(3))
    for shard, row in _rows(out):
        kind = _kind(row, decisions)
        _count(summary, row, kind)
        _widen_ranges(summary.ranges, row["scores"])
        item = _item(shard, row, decisions)
        if kind == "accepted":
            gallery[row["task"]].add(row["key"], item)
        elif kind == "rejected":
            rejected.add(row["key"], item)
            summary.reasons.update(_reason_kinds(row["error"]))
        elif kind == "curated_out":
            curated.add(row["key"], item)
            summary.reasons[_curation_kind(decisions[row["key"]])] += 1
        else:
            failed[row["status"]].add(row["key"], row["error"] or row["status"])
    summary.gallery = {task: gallery[task].result() for task in sorted(gallery)}
    summary.rejected, summary.curated = rejected.result(), curated.result()
    summary.failed_examples = {s: failed[s].result() for s in sorted(failed)}


def _second_pass(out: Path, decisions: dict, limits: Limits, summary: Summary) -> None:
    edges = {name: _edges(lo, hi, limits.bins) for name, (lo, hi) in summary.ranges.items()}
    band_edges = {name: _edges(lo, hi, limits.bands) for name, (lo, hi) in summary.ranges.items()}
    counts = {name: (np.zeros(limits.bins, int), np.zeros(limits.bins, int)) for name in edges}
    bands = {name: [Smallest(limits.per_band) for _ in range(limits.bands)] for name in edges}
    for shard, row in _rows(out):
        kind = _kind(row, decisions)
        if kind == "failed":
            continue
        for name, value in row["scores"].items():
            counts[name][0 if kind == "accepted" else 1][_bin(value, edges[name])] += 1
            if kind == "accepted":
                band = bands[name][_bin(value, band_edges[name])]
                band.add(_salted(name, row["key"]), _item(shard, row, decisions))
    summary.histograms = {n: Histogram(edges[n], *counts[n]) for n in sorted(edges)}
    for name in sorted(bands):
        low_high = zip(band_edges[name][:-1], band_edges[name][1:], strict=True)
        summary.bands[name] = [
            Band(float(lo), float(hi), band.result())
            for (lo, hi), band in zip(low_high, bands[name], strict=True)
        ]


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _rows(out: Path) -> Iterator[tuple[str, dict]]:
    """(shard, row) for every index row, scores gathered into row["scores"] (finite only)."""
    layout = Layout(out)
    for shard in layout.complete_shards():
        table = read_parquet(layout.index(shard))
        names = [n for n in table.column_names if n.startswith("score_")]
        for row in table.select(FIXED + names).to_pylist():
            row["scores"] = {
                n[len("score_") :]: row.pop(n)
                for n in names
                if row[n] is not None and math.isfinite(row[n])
            }
            yield shard, row


def _kind(row: dict, decisions: dict) -> str:
    if row["status"] == STATUS_OK:
        return "curated_out" if row["key"] in decisions else "accepted"
    return "rejected" if row["status"] == STATUS_REJECTED else "failed"


def _count(summary: Summary, row: dict, kind: str) -> None:
    summary.rows += 1
    summary.by_status[row["status"]] += 1
    summary.by_split[row["split"]][kind] += 1
    counts = summary.tasks.setdefault(row["task"], TaskCounts(row["category"]))
    counts.ok += row["status"] == STATUS_OK
    setattr(counts, kind, getattr(counts, kind) + 1)
    if kind == "accepted":
        summary.by_category[row["category"]] += 1


def _item(shard: str, row: dict, decisions: dict) -> Item:
    decision = decisions.get(row["key"])
    reason = row["error"] if row["status"] != STATUS_OK else decision and decision["reason"]
    return Item(
        row["key"], shard, row["task"], row["instruction"], row["scores"], row["status"], reason
    )


def _salted(salt: str, key: str) -> str:
    """Another fair order of the keys per score, so each score's bands show other pairs."""
    return hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()


def _reason_kinds(error: str | None) -> list[str]:
    """Score names of a selection error: 'l1 0.001 < min 0.002 (...); ssim ...'."""
    return [part.split()[0] for part in (error or "?").split("; ") if part.strip()]


def _curation_kind(decision: dict) -> str:
    head = (decision["reason"] or "").split(":")[0]
    return head if decision["by"] == "selection" and head else f"curated by {decision['by']}"


def _widen_ranges(ranges: dict[str, list[float]], scores: dict[str, float]) -> None:
    for name, value in scores.items():
        low_high = ranges.setdefault(name, [value, value])
        low_high[0], low_high[1] = min(low_high[0], value), max(low_high[1], value)


def _edges(low: float, high: float, n: int) -> np.ndarray:
    if high <= low:  # one value: a bin around it
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, n + 1)


def _bin(value: float, edges: np.ndarray) -> int:
    return int(min(max(np.searchsorted(edges, value, side="right") - 1, 0), len(edges) - 2))
