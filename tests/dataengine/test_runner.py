"""The runner, in-process: validity, determinism, resume and its refusals."""

import json
import os
import pickle
import platform
import subprocess
import sys
import types

import cv2
import pytest
import yaml

from dataengine import runner
from dataengine.recipe import RecipeError, build_recipe
from dataengine.runner import StageChain, plan_units, run_recipe, worker_start_method
from dataengine.stage import Resources
from dataengine.validate import validate_output
from tests.helpers import fresh_python, shard_bytes


def test_output_is_valid_and_covers_every_source(reference, tiny_recipe):
    report = validate_output(reference)
    assert report.ok, report.problems
    units = plan_units(tiny_recipe)
    sources = sum(len(u.refs) for u in units)
    assert sources == 16 + 3 * 4
    assert report.rows == 2 * sources  # per_source: 2, every source has two tasks
    assert {u.split for u in units} == {"train", "val", "bench"}


def test_two_runs_are_byte_identical(reference, tiny_recipe, tmp_path):
    run_recipe(tiny_recipe, tmp_path, in_process=True, progress=False)
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_worker_processes_write_the_same_bytes(reference, tiny_recipe, tmp_path):
    summary = run_recipe(tiny_recipe, tmp_path, processes=2, progress=False)
    assert summary.samples > 0
    assert shard_bytes(tmp_path) == shard_bytes(reference)
    assert json.loads((tmp_path / "run.json").read_text())["executor"] == "processes:2"
    (tmp_path / "stats/train-000001.json").unlink()
    again = run_recipe(tiny_recipe, tmp_path, resume=True, processes=2, progress=False)
    assert again.skipped == again.shards - 1
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_a_unit_run_a_slice_of_sources_at_a_time_writes_the_same_bytes(
    reference, tiny_recipe, tmp_path, monkeypatch
):
    """Every stage of the tiny recipe works per source, so the chain runs a unit a slice at
    a time and packs each slice's pairs: one source per slice gives the shards of the whole
    unit at once (the reference's units of 6 fit one slice of 8)."""
    seen = []
    decode = tiny_recipe.stages[0]
    process = type(decode).process
    monkeypatch.setattr(
        decode, "process", lambda unit: seen.append(len(unit.sources)) or process(decode, unit)
    )
    monkeypatch.setattr(StageChain, "SLICE", 1)
    run_recipe(tiny_recipe, tmp_path, in_process=True, progress=False)
    assert set(seen) == {1}
    assert len(seen) == sum(len(u.refs) for u in plan_units(tiny_recipe))
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_a_stage_that_looks_across_sources_gets_the_whole_unit(tiny_raw):
    """A task with a partner draws it from the rest of the unit: no slices then."""
    assert StageChain(build_recipe(tiny_raw).stages, object(), object()).streams
    tiny_raw["stages"][1]["tasks"]["style_reference"] = 1.0
    recipe = build_recipe(tiny_raw)
    assert not recipe.stages[1].per_source
    assert not StageChain(recipe.stages, recipe.source, object()).streams


@pytest.mark.skipif(platform.system() != "Linux", reason="workers are forked on Linux only")
def test_a_fresh_command_forks_its_workers_and_writes_the_same_bytes(reference, tiny_raw, tmp_path):
    """`ace data run --processes` in a new interpreter (no torch loaded, no model stage)
    forks its workers; the shards are the bytes of the in-process run."""
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_raw))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "dataengine.cli", "-q", "data", "run", str(recipe)]
    subprocess.run([*command, "--out", str(out), "--processes", "2"], check=True)
    info = json.loads((out / "run.json").read_text())
    assert (info["executor"], info["workers_started_by"]) == ("processes:2", "fork")
    assert shard_bytes(out) == shard_bytes(reference)


@pytest.mark.skipif(platform.system() != "Linux", reason="workers are forked on Linux only")
def test_workers_are_spawned_where_torch_is_or_may_be_used(tiny_recipe, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr(runner, "_WORK_RAN_HERE", False)
    assert worker_start_method(tiny_recipe) == "fork"
    monkeypatch.setattr(runner, "_WORK_RAN_HERE", True)
    assert worker_start_method(tiny_recipe) == "spawn"  # OpenCV's pool would not survive
    monkeypatch.setattr(runner, "_WORK_RAN_HERE", False)
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    assert worker_start_method(tiny_recipe) == "spawn"  # its OpenMP pool would not survive
    monkeypatch.delitem(sys.modules, "torch")
    stage = tiny_recipe.stages[-1]
    monkeypatch.setattr(stage, "resources", Resources(holds_model=True))
    assert worker_start_method(tiny_recipe) == "spawn"  # the model may run torch


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
    monkeypatch.setattr(runner, "worker_start_method", lambda recipe: "fork")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(2 * share)))
    run_recipe(tiny_recipe, tmp_path / "pool", processes=2, progress=False)
    assert set(seen.read_text().split()) == {str(share)}
    seen.unlink()
    run_recipe(tiny_recipe, tmp_path / "here", in_process=True, progress=False)
    assert set(seen.read_text().split()) == {str(cv2.getNumThreads())}


def test_a_ray_worker_runs_opencv_on_the_cpus_its_task_holds():
    """`_PickledCall` is what every Ray task and actor of a run calls per unit."""
    before = cv2.getNumThreads()
    try:
        call = runner._PickledCall(lambda unit: (unit, cv2.getNumThreads()), before + 1)
        result = call({"unit": [pickle.dumps("a unit")]})
        assert pickle.loads(result["unit"][0]) == ("a unit", before + 1)
    finally:
        cv2.setNumThreads(before)


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        ({"processes": 0}, "--processes is 0"),
        ({"processes": 2, "in_process": True}, "--in-process and --processes choose different"),
        ({"ray_address": "auto", "in_process": True}, "--in-process and --ray-address"),
    ],
)
def test_refuses_two_executors(tiny_recipe, tmp_path, executor, message):
    with pytest.raises(RecipeError, match=message):
        run_recipe(tiny_recipe, tmp_path / "out", progress=False, **executor)
    assert not (tmp_path / "out").exists()


def test_resume_redoes_only_incomplete_shards(reference, tiny_recipe, tmp_path):
    run_recipe(tiny_recipe, tmp_path, in_process=True, progress=False)
    (tmp_path / "stats/train-000001.json").unlink()
    (tmp_path / "shards/train-000002.tar").write_bytes(b"truncated")  # stats still claim it
    (tmp_path / "stats/train-000002.json").unlink()
    summary = run_recipe(tiny_recipe, tmp_path, resume=True, in_process=True, progress=False)
    assert summary.skipped == summary.shards - 2
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_refuses_existing_output_without_resume(reference, tiny_recipe):
    with pytest.raises(RecipeError, match="pass --resume to continue it"):
        run_recipe(tiny_recipe, reference, in_process=True, progress=False)


def test_refuses_to_resume_another_recipe(reference, tiny_raw, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    tiny_raw["seed"] = 8
    with pytest.raises(RecipeError, match="made by a different recipe"):
        run_recipe(build_recipe(tiny_raw), copy, resume=True, in_process=True, progress=False)


def test_limit_spreads_over_every_kind_of_source(tiny_recipe):
    everything = sorted(r.id for u in plan_units(tiny_recipe) for r in u.refs)
    kinds = {ref.split("-")[0] for ref in everything}
    # the first five are all photos, as a source lists its kinds in runs
    assert len(kinds) > 1 and {ref.split("-")[0] for ref in everything[:5]} == {"photo"}
    chosen = [r.id for u in plan_units(tiny_recipe, limit=5) for r in u.refs]
    assert len(chosen) == len(set(chosen)) == 5 and set(chosen) <= set(everything)
    assert {ref.split("-")[0] for ref in chosen} == kinds
    assert everything[0] in chosen


def test_split_follows_the_group(tiny_recipe):
    split_of_group: dict[str, set] = {}
    for unit in plan_units(tiny_recipe):
        for ref in unit.refs:
            split_of_group.setdefault(ref.group, set()).add(unit.split)
    assert all(len(splits) == 1 for splits in split_of_group.values())


def test_ray_segments_put_cheap_cpu_models_in_the_chain_and_give_others_a_pool():
    """Model-free stages and CPU models declared cheap to copy (`max_actors` 0) share one
    chain per worker; a GPU model, or one limited to `max_actors` copies, is a pool."""
    from dataengine.runner import _segments

    def stage(name, **resources):
        return types.SimpleNamespace(name=name, resources=Resources(**resources))

    ocr = stage("ocr", holds_model=True, max_actors=0)
    clip_on_gpu = stage("clip", holds_model=True, num_gpus=1, max_actors=0)
    writer = stage("writer", holds_model=True, max_actors=2)
    stages = [stage("decode"), ocr, stage("pairs"), writer, stage("select"), clip_on_gpu, ocr]
    names = [[s.name for s in segment] for segment in _segments(stages)]
    assert names == [["decode", "ocr", "pairs"], ["writer"], ["select"], ["clip"], ["ocr"]]


def _tagged_doubler():
    return lambda batch: (os.getpid(), [2 * x for x in batch])


def test_map_batches_on_processes_returns_worker_results_in_input_order():
    from dataengine.runner import map_batches

    batches = [[i, i + 1] for i in range(0, 20, 2)]
    got = list(map_batches(batches, _tagged_doubler, processes=2))
    assert [doubled for _, doubled in got] == [[2 * x for x in b] for b in batches]
    assert os.getpid() not in {pid for pid, _ in got}  # the workers did the work
    inline = list(map_batches(batches, _tagged_doubler, processes=2, in_process=True))
    assert {pid for pid, _ in inline} == {os.getpid()}


def test_worker_processes_after_in_process_work_are_spawned_and_finish(tmp_path):
    """A process that ran a recipe itself has OpenCV's thread pool running; workers forked
    from it hung in their first OpenCV call. In a fresh interpreter: the test process has
    imported torch, which makes the runner spawn anyway."""
    script = (
        "import copy\n"
        "from pathlib import Path\n"
        "from dataengine.recipe import build_recipe\n"
        "from dataengine.runner import run_recipe, worker_start_method\n"
        "from tests.conftest import TINY_RECIPE\n"
        "from tests.helpers import shard_bytes\n"
        "if __name__ == '__main__':\n"
        "    recipe = build_recipe(copy.deepcopy(TINY_RECIPE))\n"
        "    print(worker_start_method(recipe))\n"
        f"    alone, pooled = Path({str(tmp_path)!r}) / 'alone', Path({str(tmp_path)!r}) / 'b'\n"
        "    run_recipe(recipe, alone, in_process=True, progress=False)\n"
        "    print(worker_start_method(recipe))\n"
        "    run_recipe(recipe, pooled, processes=2, progress=False)\n"
        "    print(shard_bytes(alone) == shard_bytes(pooled))\n"
    )
    assert fresh_python(script, timeout=120).split() == ["fork", "spawn", "True"]
