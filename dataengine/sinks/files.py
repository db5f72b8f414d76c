"""Atomic file writes, shared by every writer of the engine: shards, indexes, the curation
table, mining results, embedding caches. A reader (or a resumed run) never sees half a file,
whenever the process dies: the bytes go to a temporary name beside the target, are fsynced,
then renamed over it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, a kill signal turned exception: leave nothing half
        tmp.unlink(missing_ok=True)
        raise


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def atomic_write_table(path: Path, table: pa.Table) -> None:
    atomic_write(path, parquet_bytes(table))
