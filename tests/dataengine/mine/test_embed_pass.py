"""The embedding pass: bad files kept, what it made reused, jobs decoded in chunks, and on
Ray an actor pool holding the model gives the vectors that the in-process pass gives."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.executors import InProcess
from dataengine.executors.ray import RayExecutor
from dataengine.mine.embed_pass import BatchEmbedder, embed_missing
from dataengine.mine.embedders.base import EmbedderSpec, parse_embedders
from dataengine.mine.embedders.caption import CaptionParams
from dataengine.mine.store import EmbeddingStore
from dataengine.sources.folder import FolderSource
from tests.builders import build_tiny_clip


def test_embedding_pass_keeps_bad_files_and_reuses_what_it_made(image_folder, tmp_path):
    (image_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    pool = FolderSource(FolderSource.Params(path=str(image_folder)))
    refs = pool.refs()
    spec = parse_embedders([{"kind": "classical"}], "here")[0]
    store = EmbeddingStore(tmp_path, spec.kind, spec.build().fingerprint())
    run = {"batch_size": 3, "progress": False}
    assert embed_missing(pool, refs, spec, store, InProcess(), **run) == 7
    assert len(store.parts()) == 3
    ids = [r.id for r in refs]
    vectors, status, _ = store.load(ids)
    by_id = dict(zip(ids, status, strict=True))
    assert by_id.pop("folder:broken.jpg") == "truncated_image"  # a JPEG header, then junk
    assert set(by_id.values()) == {"ok"}
    ok = [i for i, s in enumerate(status) if s == "ok"]
    assert np.allclose(np.linalg.norm(vectors[ok], axis=1), 1, atol=1e-5)
    assert embed_missing(pool, refs, spec, store, InProcess(), **run) == 0  # a rerun embeds nothing


def test_a_job_decoded_in_chunks_gives_the_job_decoded_at_once(image_folder, monkeypatch):
    """BatchEmbedder decodes a job a chunk at a time: rows, vectors and statuses do not
    depend on the chunk size, a bad file in any chunk included."""
    (image_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    pool = FolderSource(FolderSource.Params(path=str(image_folder)))
    refs = pool.refs()
    job = BatchEmbedder(pool, parse_embedders([{"kind": "classical"}], "here")[0])
    batches = {}
    for chunk in (1, 2, 100):
        monkeypatch.setattr(job, "chunk_size", lambda chunk=chunk: chunk)
        batches[chunk] = job(refs)
    for chunk in (1, 2):
        assert batches[chunk].ids == batches[100].ids
        assert batches[chunk].status == batches[100].status
        assert np.array_equal(batches[chunk].vectors, batches[100].vectors)
    assert batches[100].status.count("truncated_image") == 1
    assert batches[100].vectors.shape == (7, batches[100].vectors.shape[1])
    assert not batches[100].vectors[batches[100].status.index("truncated_image")].any()


def test_caption_embedder_marks_images_without_caption(image_folder, tmp_path):
    pool = FolderSource(FolderSource.Params(path=str(image_folder)))
    spec = EmbedderSpec("caption", CaptionParams())
    store = EmbeddingStore(tmp_path, spec.kind, spec.build().fingerprint())
    embed_missing(pool, pool.refs(), spec, store, InProcess(), batch_size=8, progress=False)
    _, status, _ = store.load([r.id for r in pool.refs()])
    assert sorted(status) == ["no_caption"] * 2 + ["ok"] * 4


@pytest.mark.slow
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
