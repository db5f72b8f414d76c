"""The codec floor of a pair recipe: the work no pair engine can skip.

For every source a run read: load it and decode it as the recipe's decode stage does, then
encode exactly the images the run wrote from it (each member's own pixels, in its own format,
with the sink's settings). The written members are decoded from the shards beforehand, off
the clock; only source decoding and member encoding are timed, inside each worker, and the
floor is the sum of those seconds (CPU seconds of useful work, so a per-core figure).
"""

from __future__ import annotations

import io
import tarfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dataengine.recipe import Recipe
from dataengine.sinks.encode import decode_member, encode_jpeg, encode_png
from dataengine.sources.decode import ImageError, decode_image
from dataengine.sources.decode_stage import fit_long_side
from dataengine.sources.sample_photos import PHOTOS_BY_NAME, base_pixels


def warm_up() -> None:
    """What every long-running worker has done once before its steady state: imported the
    engine, set glibc's heap as the runner does, and read the bundled base photos (cached
    per process). Both sides of a comparison call this before the clock starts, so neither
    pays a one-time cost."""
    from dataengine.executors import heap
    from dataengine.registry import all_makers

    all_makers()
    heap.tune()

    for name in PHOTOS_BY_NAME:
        base_pixels(name)


def floor_pass(recipe: Recipe, out: Path, processes: int) -> tuple[float, int]:
    """CPU seconds of the floor of the run written to `out`, and images encoded."""
    refs = {ref.id: ref for ref in recipe.source.refs()}  # once: listing may be costly
    jobs = [(recipe, refs, tar) for tar in sorted(out.glob("shards/*.tar"))]
    with ProcessPoolExecutor(processes, initializer=warm_up) as pool:
        results = list(pool.map(_floor_of_shard, jobs))
    return sum(s for s, _ in results), sum(n for _, n in results)


def _floor_of_shard(job) -> tuple[float, int]:
    recipe, refs, tar = job
    seconds, encoded = 0.0, 0
    for source_id, members in _members_by_source(tar).items():
        start = time.process_time()  # CPU seconds: robust to other load on the machine
        _decode_source(recipe, refs[source_id])
        for name, pixels in members:
            _encode_like(name, pixels, recipe)
        seconds += time.process_time() - start
        encoded += len(members)
    return seconds, encoded


def _members_by_source(tar: Path) -> dict[str, list]:
    """Source id -> [(member name, decoded pixels)] of every image its samples wrote."""
    import json

    samples: dict[str, dict[str, bytes]] = defaultdict(dict)
    with tarfile.open(tar) as archive:
        for member in archive:
            key, _, suffix = member.name.partition(".")
            samples[key][suffix] = archive.extractfile(member).read()
    by_source: dict[str, list] = defaultdict(list)
    for members in samples.values():
        meta = json.load(io.BytesIO(members.pop("json")))
        images = [(name, decode_member(data)) for name, data in sorted(members.items())]
        by_source[meta["provenance"]["source_ids"][0]].extend(images)
    return by_source


def _decode_source(recipe: Recipe, ref):
    decode = recipe.stages[0].params
    source = recipe.source.load(ref)
    if source.image is not None:
        return fit_long_side(source.image, decode.max_side)
    try:
        return decode_image(source.data, max_side=decode.max_side).image
    except ImageError:
        return None


def _encode_like(name: str, pixels, recipe: Recipe) -> bytes:
    if name.endswith(".png"):
        return encode_png(pixels, recipe.sink.png_compression)
    return encode_jpeg(pixels, recipe.sink.jpeg_quality)
