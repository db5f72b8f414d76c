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
import pyarrow.compute as pc
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

    def stored(self) -> StoredIds:
        """Every stored row's id, and where each part starts among them (ids only read)."""
        parts, dims, columns = self.parts(), [], []
        for path in parts:
            part = pq.ParquetFile(path)
            dims.append(part.schema_arrow.field("vector").type.list_size)
            columns.append(part.read(columns=["id"])["id"])
        chunks = [chunk for column in columns for chunk in column.chunks]
        starts = np.cumsum([0] + [len(column) for column in columns])
        return StoredIds(parts, pa.chunked_array(chunks, pa.string()), starts, dims)

    def missing(self, ids: list[str]) -> np.ndarray:
        """Whether each of `ids` is in no part yet: one hash join in Arrow, where a Python
        set of ten million ids would take gigabytes and minutes."""
        found = pc.is_in(pa.array(ids, pa.string()), value_set=self.stored().ids)
        return ~found.to_numpy(zero_copy_only=False)

    def write(self, batch: EmbeddedBatch) -> Path:
        digest = hashlib.sha256("\n".join(batch.ids).encode()).hexdigest()[:16]
        path = self.folder / f"part-{digest}.parquet"
        atomic_write_table(path, _table(batch))
        return path

    def load(
        self, ids: list[str], dtype=np.float32
    ) -> tuple[np.ndarray, list[str], list[str | None]]:
        """Vectors (len(ids), d) of `dtype` and statuses for `ids`; an id in no part is
        `not_embedded`.

        `ids` are matched to stored rows by one hash join over the parts' id columns; then
        the parts are read one at a time, each row copied straight into the result. The
        peak is the result and one part, not every part at once in float32 (19 GiB for a
        pool of 10M x 512)."""
        stored = self.stored()
        found = pc.index_in(pa.array(ids, pa.string()), value_set=stored.ids)
        row = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        dim = max(stored.dims, default=0)
        vectors = np.zeros((len(ids), dim), dtype=dtype)
        status = np.full(len(ids), "not_embedded", dtype=object)
        error = np.full(len(ids), None, dtype=object)
        asked = np.flatnonzero(row >= 0)
        asked = asked[np.argsort(row[asked], kind="stable")]  # in stored order: part by part
        bounds = np.searchsorted(row[asked], stored.starts)
        for p, path in enumerate(stored.parts):
            mine = asked[bounds[p] : bounds[p + 1]]
            if not len(mine):
                continue
            table = pq.read_table(path, columns=["status", "error", "vector"])  # ids: read above
            local = row[mine] - stored.starts[p]
            status[mine] = table["status"].take(local).to_numpy(zero_copy_only=False)
            error[mine] = table["error"].take(local).to_numpy(zero_copy_only=False)
            if stored.dims[p] == dim:  # else a part of failed rows: zero vectors
                vectors[mine] = _vectors(table, dim)[local]
        return vectors, status.tolist(), error.tolist()


@dataclass
class StoredIds:
    parts: list[Path]
    ids: pa.ChunkedArray  # every stored row's id, part after part
    starts: np.ndarray  # (len(parts) + 1,) where each part's rows start in `ids`
    dims: list[int]  # each part's vector length (1 for a part of failed rows only)


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


def _vectors(table: pa.Table, dim: int) -> np.ndarray:
    column = table["vector"].combine_chunks()
    if column.type.list_size != dim:  # a part holding only failed rows
        return np.zeros((len(table), dim), dtype=np.float32)
    return column.flatten().to_numpy(zero_copy_only=False).reshape(len(table), dim)


def usable(status: list[str]) -> np.ndarray:
    return np.asarray([s == STATUS_OK for s in status], dtype=bool)
