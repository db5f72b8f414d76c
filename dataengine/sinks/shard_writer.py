"""The only writer of samples: one work unit -> one WebDataset tar, its Parquet index and its
stats file, each written to a temporary name and renamed into place, the stats file last.

A shard is complete exactly when its stats file exists; resume trusts nothing else. Tar
members are written in WebDataset's layout (`<key>.<member>`, a sample's members together)
in sorted order with a fixed mtime, owner and mode, samples sorted by key, so two runs of
one recipe give byte-identical shards. The standard library's tarfile writes them: the
webdataset package is for reading (it imports torch, seconds of start-up per worker).
`commit_shard` is the one place a shard reaches the disk: `ace data export` commits through it.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from dataengine.schema import (
    FORMAT_VERSION,
    STATUS_OK,
    Pair,
    Unit,
    canonical_json,
    frame_member,
    index_row,
    index_schema,
    mask_member,
    sample_json,
    target_member,
)
from dataengine.sinks.encode import encode_jpeg, encode_png
from dataengine.sinks.files import atomic_write
from dataengine.sinks.layout import Layout
from dataengine.storage import as_path, is_local, open_binary

FIXED_MTIME = 946684800  # 2000-01-01: any constant works; a constant makes tars reproducible


@dataclass
class SinkParams:
    jpeg_quality: int = 95
    png_compression: int = 3  # zlib level: 3 is within 2% of 9's size at a third of the time

    def check(self) -> None:
        """Raise ValueError naming the key and the range."""
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality is {self.jpeg_quality}; give 1 to 100")
        if not 0 <= self.png_compression <= 9:
            raise ValueError(f"png_compression is {self.png_compression}; give 0 to 9 (zlib)")


def sample_members(pair: Pair, params: SinkParams) -> dict[str, bytes]:
    """Every tar member of one sample (without the key prefix), encoded."""
    members = {"json": canonical_json(sample_json(pair)).encode()}
    for i, frame in enumerate(pair.frames):
        members[frame_member(i, frame.lossless)] = _encode(frame.image, frame.lossless, params)
        if frame.mask is not None:
            members[mask_member(i)] = encode_png(frame.mask, params.png_compression)
    members[target_member(pair.target_lossless)] = _encode(
        pair.target, pair.target_lossless, params
    )
    return members


def _encode(image, lossless: bool, params: SinkParams) -> bytes:
    if lossless:
        return encode_png(image, params.png_compression)
    return encode_jpeg(image, params.jpeg_quality)


@dataclass
class PackedSample:
    """A row as its shard will hold it: the sample's members encoded (none for an error
    row) and its index row. Packing a pair as soon as its stages are done frees its pixels."""

    key: str
    task: str
    status: str
    members: dict[str, bytes]
    row: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


def pack(pair: Pair, params: SinkParams) -> PackedSample:
    members = sample_members(pair, params) if pair.ok else {}
    sizes = {name: len(data) for name, data in members.items()}
    return PackedSample(pair.key, pair.task, pair.status, members, index_row(pair, sizes))


class ShardWriter:
    def __init__(self, out_dir: str | Path, params: SinkParams | None = None):
        self.layout = Layout(out_dir)
        self.params = params or SinkParams()

    def is_complete(self, unit: Unit) -> bool:
        """The unit's shard is on disk, whole: its stats name this unit, and its tar and
        index are there, the tar of the size and sha256 the stats record."""
        return self.layout.stats(unit.shard_name).exists() and self.problem(unit) is None

    def problem(self, unit: Unit) -> str | None:
        """Why the unit's shard cannot be kept as it is (None: it can)."""
        shard = unit.shard_name
        if not self.layout.stats(shard).exists():
            return "no stats file"
        stats = self.layout.read_stats(shard)
        if stats.get("unit") != unit.id:
            return "made by another unit"
        return tar_problem(self.layout, shard, stats)

    def pack(self, pair: Pair) -> PackedSample:
        return pack(pair, self.params)

    def write(self, unit: Unit) -> dict[str, Any]:
        """Write the unit's shard, index and stats (from its packed samples and its pairs,
        packed here); return the stats."""
        samples = [*unit.packed, *map(self.pack, unit.pairs)]
        samples.sort(key=lambda s: (s.key, s.task))
        tar = tar_bytes([(s.key, s.members) for s in samples if s.ok])
        rows = [s.row for s in samples]
        index = index_table(rows, index_schema(rows))
        return commit_shard(self.layout, ShardOrigin.of(unit), tar, index)


@dataclass(frozen=True)
class ShardOrigin:
    """What a shard was made from, as its stats file records it."""

    shard: str
    unit: str  # the work unit's id: resume trusts a shard only for the same unit
    split: str
    sources: int  # source images the unit listed

    @classmethod
    def of(cls, unit: Unit) -> ShardOrigin:
        return cls(unit.shard_name, unit.id, unit.split, len(unit.refs))

    @classmethod
    def recorded(cls, stats: dict[str, Any]) -> ShardOrigin:
        """The origin a stats file states, for a shard rewritten from an existing one."""
        return cls(stats["shard"], stats["unit"], stats["split"], stats["sources"])


def commit_shard(
    layout: Layout, origin: ShardOrigin, tar: bytes, index: pa.Table
) -> dict[str, Any]:
    """Write one shard's tar, Parquet index and stats file, each atomically; return the stats.

    The stats file goes last: its existence is what marks the shard complete, so a process
    killed before it leaves a shard that resume redoes."""
    stats = shard_stats(origin, index, tar)
    atomic_write(layout.tar(origin.shard), tar)
    atomic_write(layout.index(origin.shard), index_bytes(index))
    atomic_write(layout.stats(origin.shard), canonical_json(stats).encode())
    return stats


def tar_problem(layout: Layout, shard: str, stats: dict[str, Any]) -> str | None:
    """Whether the shard's tar and index are what its stats file says was committed."""
    tar, index = layout.tar(shard), layout.index(shard)
    if not tar.exists() or not index.exists():
        return "its tar or index is missing"
    if tar.stat().st_size != stats.get("tar_bytes"):
        return f"its tar holds {tar.stat().st_size} bytes, its stats say {stats.get('tar_bytes')}"
    if _sha256(tar) != stats.get("tar_sha256"):
        return "its tar's sha256 differs from its stats"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_binary(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tar_bytes(samples: list[tuple[str, dict[str, bytes]]]) -> bytes:
    """A WebDataset tar of (key, member name -> bytes), in the order given: a sample's
    members together and sorted, fixed mtime, owner and mode (the same input, the same
    bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, members in samples:
            for name in sorted(members):
                _add_member(tar, f"{key}.{name}", members[name])
    return buffer.getvalue()


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), FIXED_MTIME, 0o644
    info.uname = info.gname = "ace"
    tar.addfile(info, io.BytesIO(data))


def index_bytes(table: pa.Table) -> bytes:
    """The index table as Parquet bytes."""
    buffer = io.BytesIO()
    # No statistics timestamps or creator strings vary between runs; pin the writer options.
    pq.write_table(table, buffer, compression="zstd", write_statistics=True)
    return buffer.getvalue()


def index_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """The index rows as an Arrow table, parsed by pyarrow's JSON reader.

    `pa.Table.from_pylist` gives the same table, but building arrays from Python objects
    makes pyarrow import pandas: 0.35 s of CPU in every worker process, a seventh of a
    250-image resize unit. The reader does not, keeps every float exactly (NaN included),
    and refuses a column the schema lacks."""
    if not rows:
        return schema.empty_table()
    lines = "\n".join(canonical_json(row) for row in rows).encode()
    # One block for the whole unit: a row longer than a block (a caption of megabytes)
    # would otherwise not parse.
    block = max(1 << 20, len(lines) + 1)
    table = pa_json.read_json(
        io.BytesIO(lines),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=block),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="error"
        ),
    )
    return table.select(schema.names).combine_chunks()


def shard_stats(origin: ShardOrigin, index: pa.Table, tar: bytes) -> dict[str, Any]:
    """The stats file of a shard, counted from the index it commits: every row by status,
    the samples (ok rows) by task, and the tar's size and sha256."""
    statuses = index.column("status").to_pylist()
    tasks = index.column("task").to_pylist()
    ok_tasks = [task for status, task in zip(statuses, tasks, strict=True) if status == STATUS_OK]
    return {
        "format_version": FORMAT_VERSION,
        **asdict(origin),
        "rows": len(statuses),
        "samples": len(ok_tasks),
        "by_status": dict(sorted(Counter(statuses).items())),
        "by_task": dict(sorted(Counter(ok_tasks).items())),
        "tar_bytes": len(tar),
        "tar_sha256": hashlib.sha256(tar).hexdigest(),
    }


def write_run_info(out_dir: str | Path, info: dict[str, Any]) -> None:
    atomic_write(Layout(out_dir).run_info, json.dumps(info, indent=2, sort_keys=True).encode())


def remove_temporaries(out_dir: str | Path) -> int:
    """Delete leftovers of a killed run (temporary files that never got renamed)."""
    removed = 0
    out_dir = as_path(out_dir)
    if not is_local(out_dir):  # an object store's uploads leave no temporary
        return 0
    for path in out_dir.glob("*/.*.tmp-*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
