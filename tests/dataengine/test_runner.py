"""The runner: validity, determinism, resume, planning and its refusals (in this process;
the other executors are tested in tests/dataengine/executors/)."""

import pytest

from dataengine.corpus.validate import validate_output
from dataengine.executors import InProcess
from dataengine.recipe import RecipeError, build_recipe
from dataengine.runner import plan_units, run_recipe
from tests.helpers import shard_bytes


def test_output_is_valid_and_covers_every_source(reference, tiny_recipe):
    report = validate_output(reference)
    assert report.ok, report.problems
    units = plan_units(tiny_recipe, InProcess())
    sources = sum(len(u.refs) for u in units)
    assert sources == 16 + 3 * 4
    assert report.rows == 2 * sources  # per_source: 2, every source has two tasks
    assert {u.split for u in units} == {"train", "val", "bench"}


def test_two_runs_are_byte_identical(reference, tiny_recipe, tmp_path):
    run_recipe(tiny_recipe, tmp_path, InProcess(), progress=False)
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_resume_redoes_only_incomplete_shards(reference, tiny_recipe, tmp_path):
    run_recipe(tiny_recipe, tmp_path, InProcess(), progress=False)
    (tmp_path / "stats/train-000001.json").unlink()
    (tmp_path / "shards/train-000002.tar").write_bytes(b"truncated")  # stats still claim it
    (tmp_path / "stats/train-000002.json").unlink()
    summary = run_recipe(tiny_recipe, tmp_path, InProcess(), resume=True, progress=False)
    assert summary.skipped == summary.shards - 2
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_refuses_existing_output_without_resume(reference, tiny_recipe):
    with pytest.raises(RecipeError, match="pass --resume to continue it"):
        run_recipe(tiny_recipe, reference, InProcess(), progress=False)


def test_refuses_to_resume_another_recipe(reference, tiny_raw, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    tiny_raw["seed"] = 8
    with pytest.raises(RecipeError, match="made by a different recipe"):
        run_recipe(build_recipe(tiny_raw), copy, InProcess(), resume=True, progress=False)


def test_limit_spreads_over_every_kind_of_source(tiny_recipe):
    everything = sorted(r.id for u in plan_units(tiny_recipe, InProcess()) for r in u.refs)
    kinds = {ref.split("-")[0] for ref in everything}
    # the first five are all photos, as a source lists its kinds in runs
    assert len(kinds) > 1 and {ref.split("-")[0] for ref in everything[:5]} == {"photo"}
    chosen = [r.id for u in plan_units(tiny_recipe, InProcess(), limit=5) for r in u.refs]
    assert len(chosen) == len(set(chosen)) == 5 and set(chosen) <= set(everything)
    assert {ref.split("-")[0] for ref in chosen} == kinds
    assert everything[0] in chosen


def test_split_follows_the_group(tiny_recipe):
    split_of_group: dict[str, set] = {}
    for unit in plan_units(tiny_recipe, InProcess()):
        for ref in unit.refs:
            split_of_group.setdefault(ref.group, set()).add(unit.split)
    assert all(len(splits) == 1 for splits in split_of_group.values())


def test_an_out_that_is_a_file_stops_before_any_work(tiny_recipe, tmp_path):
    out = tmp_path / "a_file"
    out.write_text("not a folder")
    with pytest.raises(RecipeError, match="is a file; give a folder"):
        run_recipe(tiny_recipe, out, InProcess(), progress=False)
    assert out.read_text() == "not a folder"


def test_a_vllm_engine_writer_off_ray_stops_before_any_work(tiny_raw, tmp_path):
    """The ray_data_llm backend's engine pass runs on Ray only: in this process the run
    refuses, naming the flags, and writes nothing."""
    writer = {"stage": "llm_rewrite", "backend": "ray_data_llm", "model": "/models/qwen"}
    tiny_raw["stages"].append({**writer, "cache_dir": str(tmp_path / "cache")})
    with pytest.raises(RecipeError, match="runs its vLLM engines on Ray, not in_process"):
        run_recipe(build_recipe(tiny_raw), tmp_path / "out", InProcess(), progress=False)
    assert not list((tmp_path / "out").glob("shards/*"))
