"""The embedding pass on Ray: an actor pool holding the model gives the vectors that the
in-process pass gives."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.mine.embed_pass import embed_missing
from dataengine.mine.embedders import parse_embedders
from dataengine.mine.store import EmbeddingStore
from dataengine.sources.folder import FolderSource
from tests.dataengine.mine.clip_model import build_tiny_clip

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
