"""Reading an output directory: the Parquet index of every complete shard, and the samples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dataengine.sinks.layout import Layout


def read_index(out: str | Path, columns: list[str] | None = None) -> pa.Table:
    """All index rows of the complete shards (ok and failed), score columns unified."""
    layout = Layout(Path(out))
    tables = [pq.read_table(layout.index(s)) for s in layout.complete_shards()]
    if not tables:
        raise FileNotFoundError(
            f"{out} holds no complete shard (no stats/*.json); run `ace data run` first"
        )
    table = pa.concat_tables(tables, promote_options="default")
    return table.select(columns) if columns else table


def shard_paths(out: str | Path, split: str | None = None) -> list[str]:
    layout = Layout(Path(out))
    names = [s for s in layout.complete_shards() if split is None or s.startswith(f"{split}-")]
    return [str(layout.tar(s)) for s in names]


def samples_in_tar(data: bytes) -> Iterator[dict[str, Any]]:
    """A WebDataset tar's samples from its bytes, in order: {"__key__", member: bytes}."""
    import io

    from webdataset.tariterators import group_by_keys, tar_file_expander

    return group_by_keys(tar_file_expander([{"url": "tar", "stream": io.BytesIO(data)}]))


def iter_samples(out: str | Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    """Samples through the webdataset library: {"__key__", "json": dict, member: bytes}."""
    import webdataset as wds

    for sample in wds.WebDataset(shard_paths(out, split), shardshuffle=False, empty_check=False):
        sample["json"] = json.loads(sample["json"])
        yield sample
