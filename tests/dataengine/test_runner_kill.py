"""A run killed with SIGKILL and resumed ends with exactly the uninterrupted run's shards.

The run is a real `ace data run` process; it is killed at moments read off its output
directory (a shard half written, k shards complete), then resumed, possibly several times.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dataengine.corpus.validate import validate_output
from dataengine.sinks.layout import Layout
from tests.builders import TINY_RECIPE
from tests.helpers import shard_bytes


def start_run(recipe: Path, out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(recipe)]
    command += ["--out", str(out), "--in-process", "--resume"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def complete(out: Path) -> int:
    return len(Layout(out).complete_shards())


def writing(out: Path) -> bool:
    """A temporary file exists: some shard, index or stats file is half written."""
    return any(out.glob("*/.*.tmp-*"))


def kill_when(proc: subprocess.Popen, ready, timeout: float = 120.0) -> bool:
    """SIGKILL the run as soon as `ready()` holds; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.001)
    proc.wait(timeout=timeout)
    return False


@pytest.fixture
def recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_RECIPE, sort_keys=False))
    return path


def finish(recipe: Path, out: Path) -> None:
    proc = start_run(recipe, out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()


def assert_same_as_uninterrupted(out: Path, reference: Path) -> None:
    assert not any(out.glob("*/.*.tmp-*")), "temporary files left behind"
    assert shard_bytes(out) == shard_bytes(reference)
    report = validate_output(out)
    assert report.ok, report.problems


KILL_POINTS = {
    "mid_write_of_the_first_shard": lambda out: writing(out),
    "after_one_shard": lambda out: complete(out) >= 1,
    "mid_write_after_two_shards": lambda out: complete(out) >= 2 and writing(out),
    "after_four_shards": lambda out: complete(out) >= 4,
}


@pytest.mark.parametrize("moment", sorted(KILL_POINTS))
def test_killed_once_then_resumed(moment, reference, recipe_file, tmp_path):
    out = tmp_path / "out"
    killed = kill_when(start_run(recipe_file, out), lambda: KILL_POINTS[moment](out))
    assert killed, f"the run ended before {moment}"
    assert complete(out) < len(Layout(reference).complete_shards())
    finish(recipe_file, out)
    assert_same_as_uninterrupted(out, reference)


def test_killed_repeatedly_at_every_shard(reference, recipe_file, tmp_path):
    out = tmp_path / "out"
    total = len(Layout(reference).complete_shards())
    kills = 0
    for target in range(1, total):
        # Each resumed run is killed as soon as it has finished one more shard.
        if kill_when(start_run(recipe_file, out), lambda t=target: complete(out) >= t):
            kills += 1
    assert kills >= total - 2
    finish(recipe_file, out)
    assert_same_as_uninterrupted(out, reference)
