"""Shared fixtures: the tiny recipe over the bundled sample corpus (tests/builders.py), its
reference run, and image folders."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from PIL import Image

from dataengine.recipe import build_recipe
from tests.builders import TINY_RECIPE, photo


@pytest.fixture
def tiny_raw() -> dict:
    return copy.deepcopy(TINY_RECIPE)


@pytest.fixture
def tiny_recipe(tiny_raw):
    return build_recipe(tiny_raw)


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
