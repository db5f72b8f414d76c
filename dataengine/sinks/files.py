"""Atomic file writes, shared by every writer of the engine: shards, indexes, the curation
table, mining results, embedding caches, on a local disk or an object store. A reader (or a
resumed run) never sees half a file, whenever the process dies (dataengine/storage.py)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dataengine.storage import as_path, write_bytes


def atomic_write(path: Path | Any, data: bytes) -> None:
    write_bytes(as_path(path), data)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def atomic_write_table(path: Path | Any, table: pa.Table) -> None:
    atomic_write(path, parquet_bytes(table))
