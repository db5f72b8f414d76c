"""The embedding pass on Ray: an actor pool holding the model gives the vectors that the
in-process pass gives."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.executors import InProcess
from dataengine.executors.ray import RayExecutor
from dataengine.mine.embed_pass import embed_missing
from dataengine.mine.embedders.base import parse_embedders
from dataengine.mine.store import EmbeddingStore
from dataengine.recipe import build_recipe
from dataengine.runner import run_recipe
from dataengine.sources.folder import FolderSource
from tests.dataengine.mine.clip_model import build_tiny_clip
from tests.dataengine.mine.test_mine_source import mining_recipe

pytestmark = pytest.mark.slow


def test_ray_actor_pool_embeds_like_in_process(image_folder, tmp_path):
    model = build_tiny_clip(tmp_path / "clip")
    pool = FolderSource(FolderSource.Params(path=str(image_folder)))
    refs = pool.refs()
    [spec] = parse_embedders([{"kind": "open_clip", "path": str(model)}], "test")
    assert spec.holds_model
    vectors = {}
    for executor in (InProcess(), RayExecutor()):
        store = EmbeddingStore(tmp_path / f"cache-{executor.name}", spec.kind, "x")
        with executor:
            done = embed_missing(pool, refs, spec, store, executor, batch_size=2, progress=False)
        assert done == len(refs) == 6
        vectors[executor.name], status, _ = store.load([r.id for r in refs])
        assert status == ["ok"] * 6
    assert np.allclose(vectors["in_process"], vectors["ray:local"], atol=1e-5)


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
