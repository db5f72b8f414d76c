"""The writer of precomputed latents: one latent tar per corpus shard and its stats file,
each written to a temporary name and renamed into place, the stats file last (the shard
is complete exactly when it exists). Tars are built as the corpus sink builds
its own (`tar_bytes`), so the same VAE on the same corpus gives byte-identical tars."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dataengine.schema import canonical_json
from dataengine.sinks.files import atomic_write
from dataengine.sinks.latent_store import ERROR_MEMBER, LatentStore
from dataengine.sinks.shard_writer import remove_temporaries, tar_bytes


def prepare_store(store: LatentStore, vae_path: str) -> None:
    """Before any shard: refuse a store of other settings, clear what a killed run left
    half-written, and say what the store holds."""
    store.check_manifest()
    remove_temporaries(store.root)
    manifest = json.dumps(store.manifest_json(vae_path), indent=2, sort_keys=True)
    atomic_write(store.manifest, manifest.encode())


class LatentWriter:
    def __init__(self, store: LatentStore):
        self.store = store

    def write(
        self, shard: str, samples: list[tuple[str, dict[str, bytes]]], source_sha256: str
    ) -> dict[str, Any]:
        """samples: (key, member name -> bytes) in the order of the corpus tar whose bytes
        hash to `source_sha256` (the latents are current while the corpus shard has it)."""
        data = tar_bytes(samples)
        layout = self.store.layout
        atomic_write(layout.tar(shard), data)
        stats = {
            "shard": shard,
            "source_sha256": source_sha256,
            "samples": len(samples),
            "errors": sum(1 for _, members in samples if ERROR_MEMBER in members),
            "tar_bytes": len(data),
            "tar_sha256": hashlib.sha256(data).hexdigest(),
        }
        atomic_write(layout.stats(shard), canonical_json(stats).encode())
        return stats
