"""The embedding pass over a whole pool: the global step before clustering.

The ids no stored part holds yet are cut into batches and mapped on the run's executor (Ray
tasks, or an actor pool for embedders that hold a model; local processes; this process);
every finished batch is written as one part at once, so a killed pass keeps what it
finished.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any

import numpy as np

from dataengine.mine.embedders.base import EmbedderSpec
from dataengine.mine.store import EmbeddedBatch, EmbeddingStore
from dataengine.schema import SourceImage
from dataengine.source import Source, SourceRef
from dataengine.sources.decode import ImageError, decode_image
from dataengine.stage import ONE_WORKER, Resources

log = logging.getLogger(__name__)

DECODE_CHUNK = 32  # images decoded at once for an embedder without a batch size of its own
DECODE_SIDE = 512  # embedders look at small images; decoding large JPEGs in draft mode is cheap


class BatchEmbedder:
    """Built once per worker (it loads the model); maps a list of pool refs to a batch."""

    def __init__(self, pool: Source, spec: EmbedderSpec):
        self.pool = pool
        self.embedder = spec.build()
        self.embedder.setup()

    def __call__(self, refs: list[SourceRef]) -> EmbeddedBatch:
        # Decoded images live one chunk at a time (the embedder's own forward batch), not a
        # whole job's worth: a job of 256 pool images would hold ~150 MB of pixels at once.
        step = self.chunk_size()
        status, error, found = [], [], []
        for start in range(0, len(refs), step):
            sources = [self.load(ref) for ref in refs[start : start + step]]
            ok = [i for i, s in enumerate(sources) if s.ok]
            if ok:
                found.append(
                    ([start + i for i in ok], self.embedder.embed([sources[i] for i in ok]))
                )
            status += [s.status for s in sources]
            error += [s.error for s in sources]
        dim = found[0][1].shape[1] if found else 0
        vectors = np.zeros((len(refs), dim), dtype=np.float32)
        for rows, embedded in found:
            vectors[rows] = embedded
        return EmbeddedBatch(ids=[r.id for r in refs], vectors=vectors, status=status, error=error)

    def chunk_size(self) -> int:
        return getattr(self.embedder.params, "batch_size", None) or DECODE_CHUNK

    def load(self, ref: SourceRef) -> SourceImage:
        """The pool's image, decoded when the embedder looks at pixels; a bad one gets a status."""
        source = self.pool.load(ref)
        if not source.ok:
            return source
        if not self.embedder.needs_pixels:
            if not source.caption:
                source.status, source.error = "no_caption", "the caption embedder needs a caption"
            return source
        if source.image is None:
            try:
                source.image = decode_image(source.data, max_side=DECODE_SIDE, min_side=16).image
            except ImageError as exc:
                source.status, source.error = exc.kind, str(exc)
            source.data = None
        return source


def embed_missing(
    pool: Source,
    refs: list[SourceRef],
    spec: EmbedderSpec,
    store: EmbeddingStore,
    executor: Any,
    resources: Resources = ONE_WORKER,
    *,
    batch_size: int,
    progress: bool = True,
) -> int:
    """Embed every ref the store lacks on `executor`; return how many were embedded now."""
    lacking = store.missing([r.id for r in refs])
    missing = [r for r, lacks in zip(refs, lacking, strict=True) if lacks]
    if not missing:
        return 0
    batches = [missing[i : i + batch_size] for i in range(0, len(missing), batch_size)]
    log.info("embedding %d of %d images with %s", len(missing), len(refs), spec.kind)
    results = executor.map_batches(
        batches,
        functools.partial(BatchEmbedder, pool, spec),
        dataclasses.replace(resources, holds_model=spec.holds_model),
    )
    from tqdm import tqdm  # here: importing it costs every `ace` command about 40 ms

    with tqdm(
        total=len(missing), unit="img", desc=f"embed {spec.kind}", disable=not progress
    ) as bar:
        for batch in results:
            store.write(batch)
            bar.update(len(batch.ids))
    return len(missing)
