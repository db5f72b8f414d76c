"""Faults around a run's output folder: resume keeps only what verifies, refuses another
recipe before touching anything, one run at a time per folder, and a full or read-only disk
is one line of error that leaves no temporary behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dataengine.executors import InProcess
from dataengine.params import RecipeError
from dataengine.recipe import build_recipe
from dataengine.runner import run_recipe
from dataengine.sinks.lock import output_lock
from tests.helpers import shard_bytes


def temporaries(out: Path) -> list[Path]:
    return sorted(out.glob("*/.*.tmp-*"))


def ace_run(recipe: dict, out: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    command = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(path), "--out", str(out)]
    return subprocess.run([*command, "--in-process"], capture_output=True, text=True, timeout=300)


def test_resume_redoes_a_complete_shard_whose_tar_was_cut(reference, tiny_recipe, tmp_path):
    out = Path(shutil.copytree(reference, tmp_path / "out"))
    tar = out / "shards" / "train-000001.tar"
    tar.write_bytes(tar.read_bytes()[:1000])  # its stats file still says it is complete
    summary = run_recipe(tiny_recipe, out, InProcess(), resume=True, progress=False)
    assert summary.skipped == summary.shards - 1
    assert shard_bytes(out) == shard_bytes(reference)


def test_resume_with_another_recipe_refuses_before_touching_anything(reference, tiny_raw, tmp_path):
    out = Path(shutil.copytree(reference, tmp_path / "out"))
    left = out / "shards" / ".train-000000.tar.tmp-12345"  # what a killed run leaves
    left.write_bytes(b"half a shard")
    tiny_raw["seed"] = 8
    with pytest.raises(RecipeError, match="made by a different recipe"):
        run_recipe(build_recipe(tiny_raw), out, InProcess(), resume=True, progress=False)
    assert left.exists() and shard_bytes(out) == shard_bytes(reference)


def test_resume_with_other_split_names_is_another_recipe(reference, tiny_raw, tmp_path):
    out = Path(shutil.copytree(reference, tmp_path / "out"))
    tiny_raw["splits"] = {"train": 1.0}  # the same sources, all in train: other shards
    with pytest.raises(RecipeError, match=r"shard bench-000000 is not this recipe's"):
        run_recipe(build_recipe(tiny_raw), out, InProcess(), resume=True, progress=False)


def test_a_second_run_into_a_folder_in_use_names_the_first(tiny_raw, tmp_path):
    out = tmp_path / "out"
    with output_lock(out):  # this process is the run in progress
        done = ace_run(tiny_raw, out, tmp_path)
    assert done.returncode == 2
    assert f"is being written by another run (PID {os.getpid()})" in done.stderr
    assert not (out / "shards").exists()


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    """A small file system of its own (root only: skipped where it cannot be mounted)."""
    path.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def test_a_read_only_output_is_one_line_of_error(tiny_raw, tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        done = ace_run(tiny_raw, folder / "out", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: cannot write to {folder / 'out'}: Read-only file system; choose a folder "
        "you can write to"
    ]


def test_a_full_disk_is_one_line_of_error_and_leaves_no_temporary(tiny_raw, tmp_path):
    with tmpfs(tmp_path / "small", "size=64k") as folder:
        out = folder / "out"
        done = ace_run(tiny_raw, out, tmp_path)
        left = temporaries(out)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: No space left on device") and "--resume" in line
    assert left == []
