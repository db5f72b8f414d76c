"""`ace data latents`: encode every frame and target of a corpus with a VAE, once, at the
resolution buckets the trainer will use, so that training the VAE presets reads latents
instead of running the encoder on every batch of every epoch.

Images are decoded and resized exactly as the trainer does (ace_model.data), bucketed by
their target's aspect ratio, and encoded in batches of one bucket. Work goes shard by
shard; a shard whose latents are current is skipped, so a killed run resumes where it
stopped, and a rebuilt corpus shard is encoded again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ace_model.vae import VaeCodec, vae_fingerprint, vae_shape
from dataengine.executors import Executor
from dataengine.sinks.latent_store import (
    DTYPES,
    ERROR_MEMBER,
    LatentSpec,
    LatentStore,
    image_members,
    latent_member,
)
from dataengine.sinks.latent_writer import LatentWriter, prepare_store
from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import samples_in_tar
from dataengine.stage import ONE_WORKER, Resources
from dataengine.storage import as_path

log = logging.getLogger(__name__)


@dataclass
class LatentSummary:
    store: Path
    encoded: list[str] = field(default_factory=list)  # shards encoded by this call
    current: list[str] = field(default_factory=list)  # shards already current, skipped
    samples: int = 0
    errors: int = 0
    images: int = 0
    seconds: float = 0.0


def corpus_shards(data: Path, splits: list[str]) -> list[str]:
    shards = [s for s in Layout(data).complete_shards() if s.split("-")[0] in splits]
    if not shards:
        raise FileNotFoundError(
            f"{data} has no complete shard of split {', '.join(splits)}; "
            "build the corpus with `ace data run` first"
        )
    return shards


def precompute_latents(
    data: str | Path,
    vae: str | Path,
    resolution: int,
    patch: int,
    executor: Executor,
    *,
    splits: list[str] | tuple[str, ...] = ("train",),
    batch_size: int = 16,
    dtype: str = "float16",
    device: str | None = None,
    progress: bool = True,
    resources: Resources = ONE_WORKER,
) -> LatentSummary:
    """Encode the corpus's shards of `splits` into DIR/latents/<name>/ for a model of patch
    `patch` (latents) trained at `resolution`; returns what it did.

    A corpus shard per batch on `executor`: its workers each hold the VAE, with
    `resources` (on Ray, a pool of up to `resources.actors` actors of `resources.gpus`).
    Every argument is checked before a VAE is loaded."""
    data = as_path(data)
    shards = corpus_shards(data, list(splits))
    for name, value in (("resolution", resolution), ("patch", patch), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"{name} is {value}; it must be >= 1")
    resources = dataclasses.replace(resources, holds_model=True)
    resources.check()
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is unknown; choose one of {DTYPES}")
    fingerprint = vae_fingerprint(vae)
    channels, factor = vae_shape(vae)
    multiple = patch * factor  # bucket sides, in pixels, as the trainer makes them
    spec = LatentSpec(fingerprint, resolution, multiple, channels, factor, dtype)
    store = LatentStore(data, spec)
    prepare_store(store, str(vae))
    summary = LatentSummary(store.root)
    summary.current = [s for s in shards if store.is_current(s)]
    todo = [s for s in shards if s not in summary.current]
    if not todo:
        return summary  # all current: no VAE to load
    if device is None:  # a Ray actor sees a GPU only where it asked for one
        has_gpu = resources.gpus > 0 if executor.isolates_devices else torch.cuda.is_available()
        device = "cuda" if has_gpu else "cpu"
    worker = functools.partial(ShardLatents, str(data), str(vae), spec, batch_size, device)
    results = executor.map_batches(todo, worker, resources)
    started = time.perf_counter()
    for shard, stats in zip(
        todo,
        tqdm(results, total=len(todo), desc="latents", unit="shard", disable=not progress),
        strict=True,
    ):
        summary.encoded.append(shard)
        summary.samples += stats["samples"]
        summary.errors += stats["errors"]
        summary.images += stats["images"]
    summary.seconds = time.perf_counter() - started
    return summary


class ShardLatents:
    """One worker: holds the VAE and writes the latents of the corpus shards it is given."""

    def __init__(self, data: str, vae: str, spec: LatentSpec, batch_size: int, device: str):
        self.data, self.codec = as_path(data), VaeCodec(vae, device)
        if (self.codec.channels, self.codec.factor) != (spec.channels, spec.factor):
            raise ValueError(f"{vae} changed while its latents were being computed")
        self.spec, self.batch_size = spec, batch_size
        self.writer = LatentWriter(LatentStore(data, spec))

    def __call__(self, shard: str) -> dict:
        """Encode the corpus shard from bytes read once and stamp the latents with those
        bytes' sha256: a shard rewritten meanwhile (a resumed `ace data run`) can only
        leave these latents stale, never current for bytes they were not made from."""
        tar = Layout(self.data).tar(shard).read_bytes()
        encoder = ShardEncoder(self.codec, self.spec, self.batch_size)
        samples = encoder.encode_samples(samples_in_tar(tar))
        stats = self.writer.write(shard, samples, hashlib.sha256(tar).hexdigest())
        return {**stats, "images": encoder.images}


def npy_bytes(latents: torch.Tensor, dtype: str) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, latents.numpy().astype(dtype), allow_pickle=False)
    return buffer.getvalue()


class ShardEncoder:
    """The latent members of one corpus shard's samples, in the shard's order.

    Images wait in one queue per bucket and are encoded a full batch at a time, so memory
    holds at most one batch of pixels per bucket whatever the shard's size."""

    def __init__(self, codec: VaeCodec, spec: LatentSpec, batch_size: int):
        from dataengine.sinks.latent_store import buckets

        self.codec, self.spec, self.batch_size = codec, spec, batch_size
        self.sizes = buckets(spec.resolution, spec.multiple)
        self.pending: dict[tuple[int, int], list] = defaultdict(list)
        self.images = 0

    def encode_samples(self, raws) -> list[tuple[str, dict[str, bytes]]]:
        """Raw samples (member name -> bytes) -> (key, latent members), in their order."""
        samples: list[tuple[str, dict[str, bytes]]] = []
        for raw in raws:
            members: dict[str, bytes] = {}
            samples.append((raw["__key__"], members))
            self._queue(raw, members)
        for size in list(self.pending):
            self._flush(size)
        return samples

    def _queue(self, raw: dict, members: dict[str, bytes]) -> None:
        """Decode a sample's images at its bucket and queue them; a sample that does not
        decode gets an error member instead (the trainer then skips it, as without latents)."""
        from ace_model.data import load_rgb
        from dataengine.sinks.latent_store import batch_group

        try:
            meta = json.loads(raw["json"])
            size, _ = batch_group(raw, self.sizes)
            images = [(latent_member(n), load_rgb(raw[n], size)) for n in image_members(meta)]
        except (KeyError, OSError, ValueError) as exc:
            members[ERROR_MEMBER] = f"{type(exc).__name__}: {exc}".encode()
            return
        for name, image in images:
            self.pending[size].append((members, name, image))
            if len(self.pending[size]) == self.batch_size:
                self._flush(size)

    def _flush(self, size: tuple[int, int]) -> None:
        queued = self.pending.pop(size, [])
        if not queued:
            return
        latents = self.codec.encode(torch.stack([image for _, _, image in queued]))
        for (members, name, _), z in zip(queued, latents, strict=True):
            members[name] = npy_bytes(z, self.spec.dtype)
        self.images += len(queued)
