"""Reading an output directory: the Parquet index of every complete shard, and the samples."""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from dataengine.sinks.layout import Layout

# WebDataset's member name: the key runs to the first dot of the file name, the rest is the
# member's extension ("a/b.src0.jpg" -> "a/b", "src0.jpg").
MEMBER_NAME = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")


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
    return tar_samples(io.BytesIO(data))


def tar_samples(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """A WebDataset tar's samples in order, {"__key__", extension: bytes}, grouped as the
    webdataset library groups them (consecutive members of one key; extensions lowercased).

    Read with the standard library: importing the webdataset package imports torch, which
    costs a data-engine process about 2 s and a few hundred MB. The trainer, which needs
    torch anyway, streams through webdataset itself."""
    sample: dict[str, Any] | None = None
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            match = MEMBER_NAME.match(member.name)
            if not member.isfile() or not match:
                continue
            key, extension = match.group(1), match.group(2).lower()
            if sample is None or sample["__key__"] != key:
                if sample is not None:
                    yield sample
                sample = {"__key__": key}
            if extension in sample:
                raise ValueError(f"{member.name}: a second {extension!r} member for {key}")
            sample[extension] = tar.extractfile(member).read()
    if sample is not None:
        yield sample


def iter_samples(out: str | Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    """Every sample of the complete shards: {"__key__", "json": dict, member: bytes}."""
    for path in shard_paths(out, split):
        with open(path, "rb") as stream:
            for sample in tar_samples(stream):
                sample["json"] = json.loads(sample["json"])
                yield sample
