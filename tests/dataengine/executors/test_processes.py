"""The local-processes executor: the same bytes as in-process, forked or spawned workers,
OpenCV threads per worker, and passes mapped on the workers."""

import json
import os
import platform
import subprocess
import sys
import types

import cv2
import pytest
import yaml

from dataengine.executors import InProcess, Processes, base, processes
from dataengine.executors.processes import start_method
from dataengine.runner import run_recipe
from tests.helpers import fresh_python, shard_bytes


def test_worker_processes_write_the_same_bytes(reference, tiny_recipe, tmp_path):
    summary = run_recipe(tiny_recipe, tmp_path, Processes(2), progress=False)
    assert summary.samples > 0
    assert shard_bytes(tmp_path) == shard_bytes(reference)
    assert json.loads((tmp_path / "run.json").read_text())["executor"] == "processes:2"
    (tmp_path / "stats/train-000001.json").unlink()
    again = run_recipe(tiny_recipe, tmp_path, Processes(2), resume=True, progress=False)
    assert again.skipped == again.shards - 1
    assert shard_bytes(tmp_path) == shard_bytes(reference)


@pytest.mark.skipif(platform.system() != "Linux", reason="workers are forked on Linux only")
def test_a_fresh_command_forks_its_workers_and_writes_the_same_bytes(reference, tiny_raw, tmp_path):
    """`ace data run --processes` in a new interpreter (no torch loaded, no model stage)
    forks its workers; the shards are the bytes of the in-process run."""
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_raw))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(recipe)]
    subprocess.run([*command, "--out", str(out), "--processes", "2"], check=True)
    info = json.loads((out / "run.json").read_text())
    assert (info["executor"], info["workers_started_by"]) == ("processes:2", "fork")
    assert shard_bytes(out) == shard_bytes(reference)


@pytest.mark.skipif(platform.system() != "Linux", reason="workers are forked on Linux only")
def test_workers_are_spawned_where_torch_is_or_may_be_used(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr(base, "_work_ran_here", False)
    assert start_method(holds_model=False) == "fork"
    monkeypatch.setattr(base, "_work_ran_here", True)
    assert start_method(holds_model=False) == "spawn"  # OpenCV's pool would not survive
    monkeypatch.setattr(base, "_work_ran_here", False)
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    assert start_method(holds_model=False) == "spawn"  # its OpenMP pool would not survive
    monkeypatch.delitem(sys.modules, "torch")
    assert start_method(holds_model=True) == "spawn"  # the model may run torch


@pytest.mark.skipif(platform.system() != "Linux", reason="workers are forked on Linux only")
def test_each_worker_runs_opencv_on_its_share_of_the_cores(tiny_recipe, tmp_path, monkeypatch):
    """OpenCV sizes its thread pool to the machine in every process; a pool's worker gets
    its share (2 workers on twice OpenCV's count plus one: one more thread each than
    OpenCV's own, whatever this machine has), a run in this process keeps OpenCV's."""
    share = cv2.getNumThreads() + 1
    seen = tmp_path / "threads"
    decode = type(tiny_recipe.stages[0])
    process = decode.process

    def recording(self, unit):
        with open(seen, "a") as f:
            f.write(f"{cv2.getNumThreads()}\n")
        return process(self, unit)

    monkeypatch.setattr(decode, "process", recording)  # on the class: forked workers see it
    monkeypatch.setattr(processes, "start_method", lambda holds_model: "fork")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(2 * share)))
    run_recipe(tiny_recipe, tmp_path / "pool", Processes(2), progress=False)
    assert set(seen.read_text().split()) == {str(share)}
    seen.unlink()
    run_recipe(tiny_recipe, tmp_path / "here", InProcess(), progress=False)
    assert set(seen.read_text().split()) == {str(cv2.getNumThreads())}


def _tagged_doubler():
    return lambda batch: (os.getpid(), [2 * x for x in batch])


def test_map_batches_on_processes_returns_worker_results_in_input_order():
    batches = [[i, i + 1] for i in range(0, 20, 2)]
    got = list(Processes(2).map_batches(batches, _tagged_doubler))
    assert [doubled for _, doubled in got] == [[2 * x for x in b] for b in batches]
    assert os.getpid() not in {pid for pid, _ in got}  # the workers did the work
    inline = list(InProcess().map_batches(batches, _tagged_doubler))
    assert {pid for pid, _ in inline} == {os.getpid()}
    one = list(Processes(2).map_batches(batches[:1], _tagged_doubler))
    assert one == [(os.getpid(), [0, 2])]  # one batch: no pool is worth starting


def test_worker_processes_after_in_process_work_are_spawned_and_finish(tmp_path):
    """A process that ran a recipe itself has OpenCV's thread pool running; workers forked
    from it hung in their first OpenCV call. In a fresh interpreter: the test process has
    imported torch, which makes the runner spawn anyway."""
    script = (
        "import copy\n"
        "from pathlib import Path\n"
        "from dataengine.recipe import build_recipe\n"
        "from dataengine.executors import InProcess, Processes\n"
        "from dataengine.executors.processes import start_method\n"
        "from dataengine.runner import run_recipe\n"
        "from tests.builders import TINY_RECIPE\n"
        "from tests.helpers import shard_bytes\n"
        "if __name__ == '__main__':\n"
        "    recipe = build_recipe(copy.deepcopy(TINY_RECIPE))\n"
        "    print(start_method(holds_model=False))\n"
        f"    alone, pooled = Path({str(tmp_path)!r}) / 'alone', Path({str(tmp_path)!r}) / 'b'\n"
        "    run_recipe(recipe, alone, InProcess(), progress=False)\n"
        "    print(start_method(holds_model=False))\n"
        "    run_recipe(recipe, pooled, Processes(2), progress=False)\n"
        "    print(shard_bytes(alone) == shard_bytes(pooled))\n"
    )
    assert fresh_python(script, timeout=120).split() == ["fork", "spawn", "True"]


def test_zero_workers_is_refused_with_the_flag_named():
    from dataengine.params import RecipeError

    with pytest.raises(RecipeError, match="--processes is 0; give 1 or more"):
        Processes(0)
