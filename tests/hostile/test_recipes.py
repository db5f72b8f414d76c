"""Hostile recipes: each stops `ace data run` before any work, with one line naming what to
change and exit code 2, whatever the file holds (not UTF-8, an alias bomb, a key twice,
fractions that are not fractions, sink settings out of range)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.builders import TINY_RECIPE
from tests.hostile import make


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    return make.bad_recipes(tmp_path_factory.mktemp("recipes"), TINY_RECIPE)


@pytest.mark.parametrize(
    "name",
    ["latin1", "alias_bomb", "twice", "nan_split", "negative_split", "jpeg_quality",
     "png_compression"],
)  # fmt: skip
def test_a_hostile_recipe_stops_before_any_work_with_one_line(recipes, name, tmp_path):
    path, message = recipes[name]
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "ace_cli", "data", "run", str(path), "--out", str(out),
         "--in-process"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and len(lines[0]) < 400, done.stderr
    assert not out.exists()  # the alias bomb is refused, not expanded (the timeout guards)
