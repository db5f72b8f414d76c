"""Pairs per second per core for each task family, beside that family's codec floor.

One small recipe per category (every model-free task of the category, equal weights) runs
in this process on one core; its floor (codec_floor.py) runs right after in one process on
the same sources. The ratio says how much the family's operators cost on top of decoding
the source and encoding what the pairs write.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchmark.perf.codec_floor import floor_pass, warm_up
from benchmark.perf.report import Result
from dataengine.executors import InProcess
from dataengine.recipe import build_recipe
from dataengine.registry import all_makers
from dataengine.runner import run_recipe
from dataengine.schema import CATEGORIES

MAKERS = all_makers()  # every family imported

# Operators that are a few array passes each: their pairs should cost little beyond codecs.
CHEAP_TASKS = (
    "canny_extraction",
    "grayscale",
    "colorization",
    "mosaic",
    "inpainting",
    "outpainting",
    "super_resolution",
    "jpeg_artifact_removal",
    "brightness_contrast",
    "text_to_image",
)


def family_tasks(category: str) -> dict[str, float]:
    if category == "cheap_operators":
        return {task: 1.0 for task in CHEAP_TASKS}
    tasks = {t: 1.0 for t, m in sorted(MAKERS.items()) if m.category == category}
    return {t: w for t, w in tasks.items() if not MAKERS[t].needs_model}


def family_recipe(category: str, photos: int, shape_families: int) -> dict:
    tasks = family_tasks(category)
    return {
        "name": f"bench-{category}",
        "seed": 0,
        "source": {
            "kind": "sample_corpus",
            "photos": photos,
            "shape_families": shape_families,
            "shape_members": 2,
        },
        "splits": {"train": 1.0},
        "unit_size": 16,
        "stages": [
            {"stage": "decode", "max_side": 512, "min_side": 64},
            {"stage": "pairs", "per_source": 1, "tasks": tasks},
            {"stage": "template_instructions"},
        ],
    }


def measure(work: Path, photos: int = 96, shape_families: int = 24) -> list[Result]:
    results = []
    warm_up()
    for category in (*CATEGORIES, "cheap_operators"):
        if not family_tasks(category):
            continue
        recipe = build_recipe(family_recipe(category, photos, shape_families))
        out = work / recipe.name
        shutil.rmtree(out, ignore_errors=True)
        start = time.process_time()  # CPU seconds of this process: the run is in-process
        summary = run_recipe(recipe, out, InProcess(), progress=False)
        seconds = time.process_time() - start
        floor_seconds, encoded = floor_pass(recipe, out, processes=1)
        note = (
            f"{summary.samples} pairs in {seconds:.1f} CPU s; floor: {encoded} images "
            f"in {floor_seconds:.1f} CPU s"
        )
        results.append(
            Result(
                f"{category}: pairs/s per core",
                summary.samples / seconds,
                "pairs/s/core",
                baseline=summary.samples / floor_seconds if floor_seconds else None,
                baseline_name="decode+encode floor",
                note=note,
            )
        )
    return results
