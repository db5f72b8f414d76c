"""Persisted embeddings: Parquet parts keyed by image id, one folder per embedder fingerprint.

    <cache>/embeddings/<kind>-<fingerprint>/part-<hash of ids>.parquet
        id: string, status: string, error: string, vector: fixed_size_list<float32>[d]

A part is written once, to a temporary name then renamed, so a killed run leaves only whole
parts. Images that could not be embedded keep a row (status, error, zero vector): a rerun
does not retry a file that is broken for good. A rerun, or a larger pool, embeds only the
ids no part holds yet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataengine.schema import STATUS_OK
from dataengine.sinks.files import atomic_write_table


@dataclass
class EmbeddedBatch:
    """What one embedding job returns: one row per image id, in input order."""

    ids: list[str]
    vectors: np.ndarray  # (n, d) float32; zero rows where status is not ok
    status: list[str]
    error: list[str | None]


class EmbeddingStore:
    def __init__(self, cache: Path, kind: str, fingerprint: str):
        self.folder = Path(cache) / "embeddings" / f"{kind}-{fingerprint}"

    def parts(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    def known_ids(self) -> set[str]:
        return {i for p in self.parts() for i in pq.read_table(p, columns=["id"])["id"].to_pylist()}

    def write(self, batch: EmbeddedBatch) -> Path:
        digest = hashlib.sha256("\n".join(batch.ids).encode()).hexdigest()[:16]
        path = self.folder / f"part-{digest}.parquet"
        atomic_write_table(path, _table(batch))
        return path

    def load(
        self, ids: list[str], dtype=np.float32
    ) -> tuple[np.ndarray, list[str], list[str | None]]:
        """Vectors (len(ids), d) of `dtype` and statuses for `ids`; an id in no part is
        `not_embedded`."""
        rows: dict[str, tuple[int, int]] = {}
        tables = [pq.read_table(p) for p in self.parts()]
        for t, table in enumerate(tables):
            for r, image_id in enumerate(table["id"].to_pylist()):
                rows[image_id] = (t, r)
        dim = _dimension(tables)
        vectors = np.zeros((len(ids), dim), dtype=dtype)
        status, error = ["not_embedded"] * len(ids), [None] * len(ids)
        flat = [_vectors(t, dim) for t in tables]
        for i, image_id in enumerate(ids):
            if image_id in rows:
                t, r = rows[image_id]
                vectors[i] = flat[t][r]
                status[i] = tables[t]["status"][r].as_py()
                error[i] = tables[t]["error"][r].as_py()
        return vectors, status, error


def _table(batch: EmbeddedBatch) -> pa.Table:
    vectors = np.ascontiguousarray(batch.vectors, dtype=np.float32)
    if vectors.shape[1] == 0:  # every image failed: Arrow needs a list size of at least 1
        vectors = np.zeros((len(batch.ids), 1), dtype=np.float32)
    dim = vectors.shape[1]
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim)
    return pa.table(
        {
            "id": pa.array(batch.ids, pa.string()),
            "status": pa.array(batch.status, pa.string()),
            "error": pa.array(batch.error, pa.string()),
            "vector": column,
        }
    )


def _dimension(tables: list[pa.Table]) -> int:
    """The vector length; a part of failed rows only was written with length 1."""
    return max((t.schema.field("vector").type.list_size for t in tables), default=0)


def _vectors(table: pa.Table, dim: int) -> np.ndarray:
    column = table["vector"].combine_chunks()
    if column.type.list_size != dim:  # a part holding only failed rows
        return np.zeros((len(table), dim), dtype=np.float32)
    return column.flatten().to_numpy(zero_copy_only=False).reshape(len(table), dim)


def usable(status: list[str]) -> np.ndarray:
    return np.asarray([s == STATUS_OK for s in status], dtype=bool)
