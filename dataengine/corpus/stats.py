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
import pyarrow as pa

from dataengine.corpus.curation import rejected_keys
from dataengine.corpus.read import corpus_folder
from dataengine.schema import STATUS_OK, STATUS_REJECTED
from dataengine.sinks.layout import Layout
from dataengine.storage import read_parquet, read_parquet_schema

BANDS = 5
TITLES = {"failed_by_task": "rejected or failed, by task"}


def corpus_stats(out: str | Path) -> dict:
    """The counts, read shard by shard (memory holds counters, not rows): a first pass
    counts and finds each score's range, a second fills the bands between those ends."""
    rejected_by_curation = rejected_keys(out)
    counts = {name: Counter() for name in COUNTERS}
    ranges: dict[str, tuple[float, float]] = {}
    rows = curated_out = 0
    for table in _index_tables(out, COUNTED):
        rows += table.num_rows
        curated_out += _count_shard(table, counts, rejected_by_curation)
        for name in _score_columns(table):
            ranges[name] = _widened(ranges.get(name), table.column(name))
    bands = {name: np.zeros(BANDS, np.int64) for name in ranges}
    for table in _index_tables(out, ()):
        for name in _score_columns(table):
            bands[name] += _histogram(table.column(name), ranges[name])
    samples, rejected = counts["by_status"][STATUS_OK], counts["by_status"][STATUS_REJECTED]
    return {
        "rows": rows,
        "samples": samples,
        "accepted": samples - curated_out,
        "curated_out": curated_out,
        "rejected": rejected,
        "failed": rows - samples - rejected,
        **{name: dict(sorted(counter.items())) for name, counter in counts.items()},
        "score_bands": {
            name[len("score_") :]: _band_labels(ranges[name], bands[name])
            for name in sorted(ranges)
        },
    }


# by_split, by_category and by_task count samples in the shards; by_status every row;
# failed_by_task every row not in the shards, rejected or failed.
COUNTERS = ("by_split", "by_category", "by_task", "by_status", "failed_by_task")


COUNTED = ("key", "split", "category", "task", "status")


def _index_tables(out: str | Path, columns: tuple[str, ...]):
    """Each complete shard's index, with `columns` and every score column only."""
    layout = Layout(corpus_folder(out))
    shards = layout.complete_shards()
    if not shards:
        raise FileNotFoundError(
            f"{out} holds no complete shard (no stats/*.json); run `ace data run` first"
        )
    for shard in shards:
        path = layout.index(shard)
        names = read_parquet_schema(path).names
        wanted = [n for n in names if n in columns or n.startswith("score_")]
        yield read_parquet(path, columns=wanted)


def _count_shard(table: pa.Table, counts: dict[str, Counter], rejected: set[str]) -> int:
    """Add one shard's rows to the counters; return how many of its samples are curated out."""
    columns = table.select(list(COUNTED)).to_pydict()
    ok = [s == STATUS_OK for s in columns["status"]]
    counts["by_status"].update(columns["status"])
    for name, column in (("by_split", "split"), ("by_category", "category"), ("by_task", "task")):
        counts[name].update(v for v, keep in zip(columns[column], ok, strict=True) if keep)
    counts["failed_by_task"].update(
        task for task, keep in zip(columns["task"], ok, strict=True) if not keep
    )
    return sum(keep and key in rejected for key, keep in zip(columns["key"], ok, strict=True))


def _score_columns(table: pa.Table) -> list[str]:
    return [name for name in table.column_names if name.startswith("score_")]


def _finite(column) -> np.ndarray:
    values = column.to_numpy(zero_copy_only=False).astype(float)
    return values[np.isfinite(values)]


def _widened(known: tuple[float, float] | None, column) -> tuple[float, float] | None:
    values = _finite(column)
    if values.size == 0:
        return known
    low, high = float(values.min()), float(values.max())
    return (low, high) if known is None else (min(known[0], low), max(known[1], high))


def _histogram(column, bounds: tuple[float, float] | None) -> np.ndarray:
    if bounds is None:
        return np.zeros(BANDS, np.int64)
    counts, _ = np.histogram(_finite(column), bins=np.linspace(*bounds, BANDS + 1))
    return counts


def _band_labels(bounds: tuple[float, float] | None, counts: np.ndarray) -> dict[str, int]:
    if bounds is None:
        return {}
    edges = np.linspace(*bounds, BANDS + 1)
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
