"""The mining step over a whole pool, persisted: embed what is missing, mine, write decisions.

    <cache>/mined/<fingerprint>/
        pairs.parquet       one row per mined pair: source and target ids, similarity, clusters
        duplicates.parquet  one row per image in a near-duplicate group (the dedup report)
        unusable.parquet    images that could not be embedded, with status and error
        report.json         counts, seconds per step, parameters; written last

The fingerprint hashes the pool's ids, the embedders and the mining parameters, so a rerun
with the same inputs reads the decisions back instead of mining again (report.json marks
them complete), and any change mines afresh into another folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataengine.mine.embed_pass import embed_missing
from dataengine.mine.embedders.base import EmbedderSpec, combine
from dataengine.mine.params import MiningParams
from dataengine.mine.store import EmbeddingStore, usable
from dataengine.mine.vector_mining import Mined, mine_vectors
from dataengine.schema import canonical_json, derive_seed
from dataengine.sinks.files import atomic_write, atomic_write_table
from dataengine.source import Source, SourceRef
from dataengine.stage import ONE_WORKER, Resources

log = logging.getLogger(__name__)


@dataclass
class MinedPool:
    """The decisions of one mining step, as read back from its folder."""

    folder: Path
    pairs: pa.Table  # source_id, target_id, similarity, source_leaf, target_leaf, ...
    duplicates: pa.Table  # group, id
    unusable: pa.Table  # id, status, error
    report: dict[str, Any]


def mine_pool(
    pool: Source,
    refs: list[SourceRef],
    specs: list[EmbedderSpec],
    params: MiningParams,
    cache: str | Path,
    executor: Any,
    *,
    resources: Resources = ONE_WORKER,
    batch_size: int = 256,
    progress: bool = True,
) -> MinedPool:
    """Run (or reuse) the mining step for `refs` of `pool`; the embedding pass runs on
    `executor` (an Executor) with `resources` per worker. Neither changes the vectors."""
    ids = [r.id for r in refs]
    stores = [EmbeddingStore(Path(cache), s.kind, s.build().fingerprint()) for s in specs]
    folder = Path(cache) / "mined" / mining_fingerprint(ids, specs, stores, params)
    if (folder / "report.json").exists():
        log.info("mining: reusing %s", folder)
        return read_mined(folder)
    started = time.perf_counter()
    embedded = [
        embed_missing(
            pool, refs, spec, store, executor, resources, batch_size=batch_size, progress=progress
        )
        for spec, store in zip(specs, stores, strict=True)
    ]
    x, rows, unusable_rows = pooled_vectors(ids, specs, stores, np.dtype(params.precision))
    seconds = {"embed": round(time.perf_counter() - started, 3)}
    mined = mine_vectors(x, params)
    write_mined(folder, ids, rows, x, mined, unusable_rows, params)
    report = _report(ids, specs, stores, params, mined, unusable_rows, embedded, seconds)
    _write_json(folder / "report.json", report)  # last: the step is complete
    return read_mined(folder)


def mining_fingerprint(
    ids: list[str], specs: list[EmbedderSpec], stores: list[EmbeddingStore], params: MiningParams
) -> str:
    embedders = [[s.kind, s.weight, st.folder.name] for s, st in zip(specs, stores, strict=True)]
    pool = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    payload = canonical_json([pool, embedders, dataclasses.asdict(params)])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def pooled_vectors(
    ids: list[str], specs: list[EmbedderSpec], stores: list[EmbeddingStore], dtype=np.float32
):
    """The combined unit vectors (of `dtype`) of the usable images, their positions in
    `ids`, and the (id, status, error) of every image some embedder could not embed."""
    loaded = [store.load(ids, dtype) for store in stores]
    ok = np.logical_and.reduce([usable(status) for _, status, _ in loaded])
    unusable_rows = []
    for i in np.flatnonzero(~ok):
        status, error = next((st[i], er[i]) for _, st, er in loaded if st[i] != "ok")
        unusable_rows.append((ids[i], status, error))
    x = combine([v[ok] for v, _, _ in loaded], [s.weight for s in specs], dtype)
    return x, np.flatnonzero(ok), unusable_rows


# --------------------------------------------------------------------------------------------
# Writing and reading the decisions
# --------------------------------------------------------------------------------------------


def write_mined(folder: Path, ids, rows, x, mined: Mined, unusable_rows, params) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write_table(folder / "pairs.parquet", _pairs_table(ids, rows, x, mined, params))
    groups = mined.selection.duplicate_groups()
    _write_table(
        folder / "duplicates.parquet",
        pa.table(
            {
                "group": [ids[rows[g[0]]] for g in groups for _ in g],
                "id": [ids[rows[r]] for g in groups for r in g],
            },
            schema=pa.schema([("group", pa.string()), ("id", pa.string())]),
        ),
    )
    names = ("id", "status", "error")
    _write_table(
        folder / "unusable.parquet",
        pa.table(
            {n: [row[i] for row in unusable_rows] for i, n in enumerate(names)},
            schema=pa.schema([(n, pa.string()) for n in names]),
        ),
    )


def _pairs_table(ids, rows, x: np.ndarray, mined: Mined, params: MiningParams) -> pa.Table:
    pairs, clusters = mined.selection.pairs, mined.clusters
    a, b = pairs[:, 0], pairs[:, 1]
    # Exact similarity for the record; the search's float32 sums may differ in the last bits.
    sims = np.einsum("ij,ij->i", x[a].astype(np.float64), x[b].astype(np.float64))
    flip = np.array(
        [
            derive_seed(params.seed, "direction", ids[rows[i]], ids[rows[j]]) % 2 == 1
            for i, j in zip(a, b, strict=True)
        ],
        dtype=bool,
    )
    src, tgt = np.where(flip, b, a), np.where(flip, a, b)
    leaf, top = clusters.leaf, clusters.parent[clusters.leaf]
    return pa.table(
        {
            "source_id": [ids[rows[i]] for i in src],
            "target_id": [ids[rows[i]] for i in tgt],
            "similarity": np.round(sims, 6),
            "source_leaf": leaf[src],
            "target_leaf": leaf[tgt],
            "source_top": top[src],
            "target_top": top[tgt],
        }
    )


def read_mined(folder: Path) -> MinedPool:
    return MinedPool(
        folder=folder,
        pairs=pq.read_table(folder / "pairs.parquet"),
        duplicates=pq.read_table(folder / "duplicates.parquet"),
        unusable=pq.read_table(folder / "unusable.parquet"),
        report=json.loads((folder / "report.json").read_text()),
    )


def _report(ids, specs, stores, params, mined: Mined, unusable_rows, embedded, seconds) -> dict:
    groups = mined.selection.duplicate_groups()
    return {
        "pool": len(ids),
        "usable": len(ids) - len(unusable_rows),
        "unusable_by_status": dict(sorted(Counter(s for _, s, _ in unusable_rows).items())),
        "embedded_now": dict(zip([s.kind for s in specs], embedded, strict=True)),
        "embedders": [
            {**s.build().describe(), "weight": s.weight, "cache": st.folder.name}
            for s, st in zip(specs, stores, strict=True)
        ],
        "params": dataclasses.asdict(params),
        "leaves": len(mined.clusters.centroids),
        "top_clusters": len(np.unique(mined.clusters.parent)),
        "pairs": len(mined.selection.pairs),
        "duplicate_groups": len(groups),
        "images_in_duplicate_groups": int(sum(len(g) for g in groups)),
        "seconds": {**seconds, **mined.seconds},
    }


def _write_table(path: Path, table: pa.Table) -> None:
    atomic_write_table(path, table)


def _write_json(path: Path, value: dict) -> None:
    atomic_write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())
