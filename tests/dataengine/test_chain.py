"""The stage chain: a unit a slice of sources at a time where every stage allows it."""

from dataengine.chain import StageChain
from dataengine.executors import InProcess
from dataengine.recipe import build_recipe
from dataengine.runner import plan_units, run_recipe
from tests.helpers import shard_bytes


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
    run_recipe(tiny_recipe, tmp_path, InProcess(), progress=False)
    assert set(seen) == {1}
    assert len(seen) == sum(len(u.refs) for u in plan_units(tiny_recipe, InProcess()))
    assert shard_bytes(tmp_path) == shard_bytes(reference)


def test_a_stage_that_looks_across_sources_gets_the_whole_unit(tiny_raw):
    """A task with a partner draws it from the rest of the unit: no slices then."""
    assert StageChain(build_recipe(tiny_raw).stages, object(), object()).streams
    tiny_raw["stages"][1]["tasks"]["style_reference"] = 1.0
    recipe = build_recipe(tiny_raw)
    assert not recipe.stages[1].per_source
    assert not StageChain(recipe.stages, recipe.source, object()).streams
