"""Perceptual hashes of every sample, for near-duplicate search across the corpus.

A sample's code is 128 bits: the 64-bit DCT perceptual hash (imagehash.phash) of the frame
it edits, then that of its target (zeros for the input of a text_to_image sample). Two
samples of one task whose codes are a few bits apart show the same picture edited the same
way: a crop of one photo twice, or one photo under two names.

Hashes are cached per shard in `DIR/quality/phash/<shard>.parquet`, tagged with the shard's
tar sha256: a rerun hashes only new or rewritten shards.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataengine.sinks.encode import decode_member
from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import tar_samples
from dataengine.storage import as_path, open_binary, read_parquet, read_parquet_schema

CODE_BYTES = 16
HASH_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("task", pa.string()),
        ("split", pa.string()),
        ("code", pa.binary(CODE_BYTES)),
    ]
)
SHA_KEY = b"tar_sha256"


def image_phash(image: np.ndarray) -> bytes:
    """64-bit DCT perceptual hash, as 8 bytes."""
    import imagehash
    from PIL import Image

    bits = imagehash.phash(Image.fromarray(image)).hash.flatten()
    return np.packbits(bits).tobytes()


def sample_code(meta: dict, members: dict[str, bytes]) -> bytes:
    """The 16-byte code of one written sample (its json and members, as in the tar)."""
    inputs = [f for f in meta["frames"] if f["role"] == "input"]
    edited = ([f for f in inputs if f["mask"]] or inputs or [None])[0]
    first = image_phash(decode_member(members[edited["image"]])) if edited else bytes(8)
    return first + image_phash(decode_member(members[meta["target"]]))


def hash_shard(tar_path: str) -> pa.Table:
    """Codes of every sample in one shard tar."""
    rows = []
    with open_binary(as_path(tar_path)) as stream:
        for sample in tar_samples(stream):
            meta = json.loads(sample["json"])
            rows.append(
                {
                    "key": sample["__key__"],
                    "task": meta["task"],
                    "split": meta["split"],
                    "code": sample_code(meta, sample),
                }
            )
    return pa.Table.from_pylist(rows, schema=HASH_SCHEMA)


def cache_path(out: Path, shard: str) -> Path:
    return out / "quality" / "phash" / f"{shard}.parquet"


def stale_shards(out: Path) -> list[str]:
    """Complete shards whose cached hashes are missing or from other tar bytes."""
    layout = Layout(out)
    return [s for s in layout.complete_shards() if _cached_sha(out, s) != _tar_sha(layout, s)]


def store(out: Path, shard: str, table: pa.Table) -> None:
    from dataengine.sinks.files import atomic_write_table

    sha = _tar_sha(Layout(out), shard).encode()
    atomic_write_table(cache_path(out, shard), table.replace_schema_metadata({SHA_KEY: sha}))


def read_codes(out: Path) -> pa.Table:
    """Every cached code of the complete shards (call after hashing the stale ones)."""
    paths = [cache_path(out, s) for s in Layout(out).complete_shards()]
    tables = [read_parquet(p, schema=HASH_SCHEMA) for p in paths]
    return pa.concat_tables(tables) if tables else HASH_SCHEMA.empty_table()


def _tar_sha(layout: Layout, shard: str) -> str:
    return layout.read_stats(shard)["tar_sha256"]


def _cached_sha(out: Path, shard: str) -> str | None:
    path = cache_path(out, shard)
    if not path.exists():
        return None
    metadata = read_parquet_schema(path).metadata or {}
    return metadata.get(SHA_KEY, b"").decode() or None
