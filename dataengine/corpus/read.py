"""Reading an output directory: the Parquet index of every complete shard, and the samples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import tar_samples
from dataengine.storage import as_path, open_binary, read_parquet


def corpus_folder(out: str | Path) -> Path:
    """`out` as a Path, once it is known to be a folder: a mistyped path is named as such,
    not reported as a corpus without shards or without its run record."""
    out = as_path(out)
    if not out.exists():
        raise FileNotFoundError(f"{out} does not exist; give a folder that `ace data run` wrote")
    if not out.is_dir():
        raise FileNotFoundError(
            f"{out} is a file, not a corpus folder; give a folder that `ace data run` wrote"
        )
    return out


def read_index(out: str | Path, columns: list[str] | None = None) -> pa.Table:
    """All index rows of the complete shards (ok and failed), score columns unified."""
    layout = Layout(corpus_folder(out))
    tables = [read_parquet(layout.index(s)) for s in layout.complete_shards()]
    if not tables:
        raise FileNotFoundError(
            f"{out} holds no complete shard (no stats/*.json); run `ace data run` first"
        )
    table = pa.concat_tables(tables, promote_options="default")
    return table.select(columns) if columns else table


def shard_paths(out: str | Path, split: str | None = None) -> list[str]:
    layout = Layout(out)
    names = [s for s in layout.complete_shards() if split is None or s.startswith(f"{split}-")]
    return [str(layout.tar(s)) for s in names]


def iter_samples(out: str | Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    """Every sample of the complete shards: {"__key__", "json": dict, member: bytes}."""
    for path in shard_paths(out, split):
        with open_binary(as_path(path)) as stream:
            for sample in tar_samples(stream):
                sample["json"] = json.loads(sample["json"])
                yield sample


def read_run_info(out: str | Path) -> dict[str, Any]:
    """The run record (run.json) of a corpus, {} when it has none (a run still going)."""
    path = Layout(out).run_info
    return json.loads(path.read_text()) if path.exists() else {}
