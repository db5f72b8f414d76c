"""`ace data validate` for precomputed latents: every current latent shard against
docs/FORMAT.md (its bytes, its samples in the corpus shard's order, one array per image
of the right dtype, channels and bucket). Stale shards (their corpus shard was rebuilt)
are not checked: the trainer ignores them and `ace data latents` encodes them again."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np

from dataengine.sinks.latent_store import (
    ERROR_MEMBER,
    LatentSpec,
    LatentStore,
    batch_group,
    buckets,
    image_members,
    latent_member,
    spec_of,
)
from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import samples_in_tar


def latent_problems(data: Path) -> tuple[int, list[str]]:
    """(latent shards checked, problems) over every store beside the corpus."""
    checked, problems, corpus = 0, [], Layout(data)
    manifests = sorted((data / "latents").glob("*/latents.json"))
    if not manifests:
        return checked, problems
    for manifest in manifests:
        try:
            spec = spec_of(json.loads(manifest.read_text()))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{manifest}: {type(exc).__name__}: {exc}")
            continue
        store = LatentStore(data, spec)
        if store.root != manifest.parent:
            problems.append(f"{manifest}: describes {spec.name}, not {manifest.parent.name}")
            continue
        sizes = buckets(spec.resolution, spec.multiple)
        for shard in store.layout.complete_shards():
            where = f"latents/{spec.name}/{shard}"
            if not corpus.stats(shard).exists():
                problems.append(f"{where}: the corpus has no shard {shard}")
            elif store.is_current(shard):
                checked += 1
                try:
                    problems += [f"{where}: {p}" for p in _shard_problems(store, shard, sizes)]
                except (OSError, ValueError, tarfile.TarError) as exc:
                    problems.append(f"{where}: {type(exc).__name__}: {exc}")
    return checked, problems


def _shard_problems(store: LatentStore, shard: str, sizes) -> list[str]:
    data = store.layout.tar(shard).read_bytes()
    if hashlib.sha256(data).hexdigest() != store.layout.read_stats(shard)["tar_sha256"]:
        return ["tar bytes do not match the sha256 in its stats file"]
    corpus = _samples(Layout(store.data).tar(shard).read_bytes())
    latents = _samples(data)
    if list(latents) != list(corpus):
        return [f"holds {len(latents)} samples, not the corpus shard's {len(corpus)} in order"]
    problems = []
    for key, members in latents.items():
        members = {k: v for k, v in members.items() if not k.startswith("__")}
        problems += [
            f"{key}: {p}" for p in _sample_problems(store.spec, sizes, corpus[key], members)
        ]
    return problems


def _samples(tar: bytes) -> dict[str, dict[str, bytes]]:
    return {s["__key__"]: s for s in samples_in_tar(tar)}


def _sample_problems(spec: LatentSpec, sizes, corpus: dict, members: dict) -> list[str]:
    if set(members) == {ERROR_MEMBER}:
        return []
    meta = json.loads(corpus["json"])
    expected = {latent_member(name) for name in image_members(meta)}
    if set(members) != expected:
        return [f"members {sorted(members)}, expected {sorted(expected)}"]
    bucket, _ = batch_group(corpus, sizes)
    wanted = (spec.channels, bucket[0] // spec.factor, bucket[1] // spec.factor)  # this one's
    for name in sorted(members):
        dtype, shape = _npy_header(members[name])
        if dtype != np.dtype(spec.dtype) or shape != wanted:
            return [f"{name}: {dtype} {shape}, expected {spec.dtype} {wanted}"]
    return []


def _npy_header(data: bytes) -> tuple[np.dtype, tuple[int, ...]]:
    """An .npy member's dtype and shape from its header, without reading the array."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    else:  # 2.0: np.save's format for headers over 64 KB
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    return dtype, shape
