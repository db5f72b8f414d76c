"""Shared fixtures: a tiny recipe over the bundled sample corpus, and image folders."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataengine.recipe import build_recipe

TINY_RECIPE = {
    "name": "tiny",
    "seed": 7,
    "source": {"kind": "sample_corpus", "photos": 16, "shape_families": 3, "shape_members": 4},
    "splits": {"train": 0.8, "val": 0.1, "bench": 0.1},
    "unit_size": 6,
    "stages": [
        {"stage": "decode", "max_side": 160, "min_side": 32},
        {
            "stage": "pairs",
            "per_source": 2,
            "tasks": {
                "canny_extraction": 1.0,
                "canny_to_image": 1.0,
                "grayscale": 1.0,
                "colorization": 1.0,
                "inpainting": 1.0,
            },
        },
        {"stage": "template_instructions"},
    ],
    "sink": {"jpeg_quality": 90},
}


@pytest.fixture
def tiny_raw() -> dict:
    return copy.deepcopy(TINY_RECIPE)


@pytest.fixture
def tiny_recipe(tiny_raw):
    return build_recipe(tiny_raw)


def photo(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A smooth random RGB picture with edges (so every task can use it)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 2 + seed * 40) % 256, (yy * 2) % 256, (xx + yy) % 256], -1)
    base[h // 4 : h // 2, w // 4 : w // 2] = rng.integers(0, 256, 3)
    return base.astype(np.uint8)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Six small JPEGs in nested folders, four with captions."""
    root = tmp_path / "images"
    for i in range(6):
        folder = root / ("a" if i < 3 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo(i)).save(folder / f"img{i}.jpg", quality=92)
        if i % 3:
            (folder / f"img{i}.txt").write_text(f"a test picture number {i}\n")
    return root


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """The tiny recipe run once, in-process: what every other way of running must equal."""
    from dataengine.executors import InProcess
    from dataengine.runner import run_recipe

    out = tmp_path_factory.mktemp("reference")
    run_recipe(build_recipe(copy.deepcopy(TINY_RECIPE)), out, InProcess(), progress=False)
    return out
