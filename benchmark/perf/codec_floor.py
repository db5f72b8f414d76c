"""The codec floor of a pair recipe: the work no pair engine can skip.

For every source the recipe read: load it, decode it as the recipe's decode stage does, and
encode one image per image member the recipe wrote from that source (a JPEG where it wrote a
JPEG, a PNG where it wrote a PNG, a one-channel PNG per mask) with the same settings. Run in
a plain process pool with as many processes as the engine had cores.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dataengine.corpus import read_index
from dataengine.recipe import Recipe
from dataengine.sinks.encode import encode_jpeg, encode_png
from dataengine.sources.decode import ImageError, decode_image
from dataengine.sources.decode_stage import fit_long_side


def members_by_source(out: Path) -> dict[str, list[str]]:
    """Source id -> the image member suffixes its samples wrote ("src0.jpg", "mask0.png")."""
    index = read_index(out, ["status", "provenance_source_ids", "member_sizes"]).to_pylist()
    members: dict[str, list[str]] = defaultdict(list)
    for row in index:
        if row["status"] != "ok":
            continue
        names = [name for name in json.loads(row["member_sizes"]) if not name.endswith(".json")]
        members[row["provenance_source_ids"][0]].extend(names)
    return dict(members)


def floor_pass(recipe: Recipe, out: Path, processes: int) -> tuple[float, int]:
    """Seconds and images encoded for the floor of the run written to `out`."""
    members = members_by_source(out)
    refs = [ref for ref in recipe.source.refs() if ref.id in members]
    jobs = [(recipe, ref, members[ref.id]) for ref in refs]
    start = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        encoded = sum(pool.map(_floor_one, jobs, chunksize=8))
    return time.perf_counter() - start, encoded


def _floor_one(job) -> int:
    recipe, ref, members = job
    decode = recipe.stages[0].params
    source = recipe.source.load(ref)
    image = source.image
    if image is None:
        try:
            image = decode_image(source.data, max_side=decode.max_side).image
        except ImageError:
            return 0
    else:
        image = fit_long_side(image, decode.max_side)
    quality = recipe.sink.jpeg_quality
    for name in members:
        if name.startswith("mask"):
            encode_png(image[:, :, 0], recipe.sink.png_compression)
        elif name.endswith(".png"):
            encode_png(image, recipe.sink.png_compression)
        else:
            encode_jpeg(image, quality)
    return len(members)
