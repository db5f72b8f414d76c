"""The embedding pass on Ray: an actor pool holding the model gives the vectors that the
in-process pass gives."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.mine.embed_pass import embed_missing
from dataengine.mine.embedders import parse_embedders
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
    for in_process in (True, False):
        store = EmbeddingStore(tmp_path / f"cache-{in_process}", spec.kind, "x")
        done = embed_missing(
            pool, refs, spec, store, batch_size=2, in_process=in_process, progress=False
        )
        assert done == len(refs) == 6
        vectors[in_process], status, _ = store.load([r.id for r in refs])
        assert status == ["ok"] * 6
    assert np.allclose(vectors[True], vectors[False], atol=1e-5)


def test_a_ray_run_mines_and_writes_on_one_ray_session(mining_registered, tmp_path, monkeypatch):
    """Without a running Ray, a run starts one for its mining pass, writes its units on the
    same session, and shuts it down at the end."""
    import ray

    assert not ray.is_initialized()
    starts = []
    real_init = ray.init
    monkeypatch.setattr(ray, "init", lambda **kw: starts.append(kw) or real_init(num_cpus=2, **kw))
    raw = mining_recipe(tmp_path / "cache")
    del raw["source"]["in_process"]
    summary = run_recipe(build_recipe(raw), tmp_path / "out", progress=False)
    assert summary.samples > 5
    assert len(starts) == 1 and not ray.is_initialized()
