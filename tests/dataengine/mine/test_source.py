"""The mined_pairs source end to end: a recipe mines a pool, the runner writes valid shards
of mined pairs, a rerun reuses the mining and gives the same bytes, and a run on Ray mines
and writes on one Ray session."""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest
from PIL import Image

from dataengine.corpus.read import iter_samples, read_index
from dataengine.corpus.validate import validate_output
from dataengine.executors import InProcess, Processes
from dataengine.executors.ray import RayExecutor
from dataengine.recipe import RecipeError, build_recipe, load_recipe
from dataengine.runner import run_recipe
from dataengine.sources.shapes_world import render
from tests.helpers import shard_bytes

MINED_TASKS = {"mined_edit": 1.0, "mined_add": 1.0, "mined_remove": 1.0}


def mining_recipe(cache, **source) -> dict:
    return {
        "name": "mined",
        "seed": 3,
        "source": {
            "kind": "mined_pairs",
            "pool": {
                "kind": "sample_corpus",
                "photos": 12,
                "shape_families": 8,
                "shape_members": 3,
            },
            "cache": str(cache),
            "batch_size": 16,
            **source,
        },
        "splits": {"train": 0.7, "val": 0.3},
        "unit_size": 8,
        "stages": [
            {"stage": "decode", "max_side": 160, "min_side": 32},
            {"stage": "pairs", "per_source": 1, "tasks": MINED_TASKS},
            {"stage": "template_instructions"},
        ],
    }


@pytest.fixture(scope="module")
def mined_run(tmp_path_factory):
    """One in-process run of the mining recipe."""
    root = tmp_path_factory.mktemp("mined")
    recipe = build_recipe(mining_recipe(root / "cache"))
    summary = run_recipe(recipe, root / "out", InProcess(), progress=False)
    return recipe, summary, root


def test_every_mined_pair_has_a_row_and_the_shards_are_valid(mined_run):
    recipe, summary, root = mined_run
    report = recipe.source.mined.report
    assert report["pool"] == 36 and report["usable"] == 36
    index = read_index(root / "out").to_pylist()
    assert len(index) == report["pairs"] > 10  # one row per pair: none dropped
    assert {r["task"] for r in index} <= set(MINED_TASKS)
    assert {r["status"] for r in index} <= {"ok", "needs_mllm_instruction"}
    assert summary.samples > 5
    report = validate_output(root / "out")
    assert report.ok, report.problems


def test_a_mined_sample_shows_its_two_images(mined_run):
    recipe, _, root = mined_run
    lo, hi = recipe.source.mining.band
    shapes = [s for s in iter_samples(root / "out") if s["json"]["provenance"].get("scenes")]
    assert shapes
    for sample in shapes:
        meta = sample["json"]
        params = meta["provenance"]["params"]
        assert lo <= params["similarity"] <= hi
        assert params["embedders"] == ["classical"]
        assert set(params["clusters"]) == {"source", "target"}
        assert meta["instruction"].count("{image}") == 1
        source = np.asarray(Image.open(io.BytesIO(sample["src0.jpg"])))
        target = np.asarray(Image.open(io.BytesIO(sample["tgt.jpg"])))
        assert source.shape == target.shape
        # The target is the partner scene, rendered, at the source's size.
        scene = meta["provenance"]["scenes"]["target"]
        expected = np.asarray(Image.fromarray(render(scene)).resize(target.shape[1::-1]))
        assert np.abs(target.astype(int) - expected).mean() < 6


def test_images_joined_by_pairs_share_a_split(mined_run):
    _, _, root = mined_run
    split_of: dict[str, set[str]] = {}
    for row in read_index(root / "out").to_pylist():
        pair = row["provenance_source_ids"][0].removeprefix("mined:").split("|")
        for image in pair:
            split_of.setdefault(image, set()).add(row["split"])
    assert all(len(splits) == 1 for splits in split_of.values())


def test_a_rerun_reuses_the_mining_and_gives_the_same_bytes(mined_run, tmp_path, monkeypatch):
    recipe, _, root = mined_run
    folder = recipe.source.mined.folder
    stamp = (folder / "report.json").stat().st_mtime_ns
    parts = sorted((root / "cache" / "embeddings").rglob("*.parquet"))
    again = build_recipe(mining_recipe(root / "cache"))
    run_recipe(again, tmp_path, InProcess(), progress=False)
    assert again.source.mined.folder == folder
    assert (folder / "report.json").stat().st_mtime_ns == stamp
    assert sorted((root / "cache" / "embeddings").rglob("*.parquet")) == parts
    assert shard_bytes(tmp_path) == shard_bytes(root / "out")


def test_the_bundled_mining_recipe_loads():
    recipe = load_recipe("pipelines/recipes/mining.yaml")
    assert recipe.source.name == "mined_pairs"
    assert recipe.source.mining.band == (0.90, 0.995)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mining": {"band": [0.9]}}, r"mining: band: expected a list of 2"),
        ({"mining": {"band": [0.95, 0.9]}}, r"mining: band: \[0.95, 0.9\] must satisfy"),
        ({"embedders": [{"kind": "dino"}]}, "kind 'dino' is not an embedder"),
        ({"embedders": [{"kind": "open_clip", "path": "/nowhere"}]}, "/nowhere does not exist"),
        ({"pool": {"kind": "mined_pairs"}}, "pool cannot itself be mined_pairs"),
        ({"pool": {"kind": "folder", "paht": "x"}}, "unknown key 'paht'"),
        ({"mining": {"max_per_image": 0}}, "mining: max_per_image: 0 must be at least 1"),
        ({"mining": {"bnad": [0.8, 0.9]}}, "did you mean 'band'"),
        ({"band": [0.8, 0.9]}, "unknown key 'band'"),
        ({"resources": {"gpus": -1}}, "resources.gpus is -1; give 0 or more"),
    ],
)
def test_bad_mining_settings_stop_before_any_work(change, message, tmp_path):
    raw = copy.deepcopy(mining_recipe(tmp_path / "cache"))
    raw["source"].update(change)
    with pytest.raises(RecipeError, match=message):
        build_recipe(raw)
    assert not (tmp_path / "cache").exists()


def test_include_pool_lists_the_pool_beside_the_pairs(mined_run, monkeypatch):
    recipe, _, root = mined_run
    raw = mining_recipe(root / "cache", include_pool=True)
    source = build_recipe(raw).source
    source.prepare(InProcess(), progress=False)
    refs = source.refs()
    assert source.mined.folder == recipe.source.mined.folder  # the same mining, reused
    pairs = [r for r in refs if r.id.startswith("mined:")]
    pool = {r.id: r for r in refs if not r.id.startswith("mined:")}
    assert len(pool) == 36 and len(pairs) == len(recipe.source.refs())
    for pair in pairs:  # a pair and both its images share one group, hence one split
        first, second = pair.id.removeprefix("mined:").split("|")
        assert pool[first].group == pool[second].group == pair.group
    image = source.load(next(iter(pool.values())))
    assert image.ok and "mined" not in image.meta


def test_a_pool_image_that_cannot_be_mined_keeps_its_row(image_folder, tmp_path, monkeypatch):
    (image_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    raw = mining_recipe(tmp_path / "cache", pool={"kind": "folder", "path": str(image_folder)})
    summary = run_recipe(build_recipe(raw), tmp_path / "out", InProcess(), progress=False)
    rows = {r["provenance_source_ids"][0]: r for r in read_index(tmp_path / "out").to_pylist()}
    broken = rows.pop("unmined:folder:broken.jpg")
    assert broken["status"] == "truncated_image"
    assert broken["error"].startswith("not mined: ")
    assert all(key.startswith("mined:") for key in rows)
    assert summary.by_status.get("truncated_image") == 1


def test_a_local_run_mines_in_its_own_process_and_quietly(tmp_path, capfd):
    """The recipe does not say where to embed: `--in-process` and `--processes` runs embed
    the pool in this process (no Ray starts), and a quiet run shows no embedding bar."""
    import ray

    raw = mining_recipe(tmp_path / "cache")
    for executor in (InProcess(), Processes(1)):
        recipe = build_recipe(copy.deepcopy(raw))
        out = tmp_path / f"out-{executor.name.replace(':', '-')}"
        assert run_recipe(recipe, out, executor, progress=False).samples > 5
        assert not ray.is_initialized()
    assert "embed" not in capfd.readouterr().err


@pytest.mark.slow
def test_a_ray_run_mines_and_writes_on_one_ray_session(tmp_path, monkeypatch):
    """Without a running Ray, the Ray executor starts one for the run's mining pass, writes
    its units on the same session, and shuts it down when it closes."""
    import ray

    assert not ray.is_initialized()
    starts = []
    real_init = ray.init
    monkeypatch.setattr(ray, "init", lambda **kw: starts.append(kw) or real_init(num_cpus=2, **kw))
    raw = mining_recipe(tmp_path / "cache")
    with RayExecutor() as executor:
        summary = run_recipe(build_recipe(raw), tmp_path / "out", executor, progress=False)
    assert summary.samples > 5
    assert len(starts) == 1 and not ray.is_initialized()
