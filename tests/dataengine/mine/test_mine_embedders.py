"""Embedders from local models, persisted embeddings and the embedding pass."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.executors import InProcess
from dataengine.mine.embed_pass import BatchEmbedder, embed_missing
from dataengine.mine.embedders.base import EmbedderSpec, combine, parse_embedders
from dataengine.mine.embedders.caption import CaptionEmbedder, CaptionParams
from dataengine.mine.embedders.clip import OpenClipEmbedder, OpenClipParams
from dataengine.mine.store import EmbeddedBatch, EmbeddingStore
from dataengine.schema import SourceImage
from dataengine.sources.folder import FolderSource
from tests.dataengine.mine.clip_model import build_tiny_clip


def images(n: int) -> list[SourceImage]:
    rng = np.random.default_rng(0)
    return [
        SourceImage(id=f"img{i}", group="g", image=rng.integers(0, 256, (40, 56, 3), np.uint8))
        for i in range(n)
    ]


# --------------------------------------------------------------------------------------------
# Models from local paths
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def test_open_clip_embeds_with_a_model_loaded_from_its_folder(tiny_clip):
    embedder = OpenClipEmbedder(OpenClipParams(path=str(tiny_clip), batch_size=2))
    embedder.setup()
    vectors = embedder.embed(images(3))
    assert vectors.shape == (3, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.allclose(vectors, embedder.embed(images(3)), atol=1e-6)  # batches of 2 or 3


def test_open_clip_cache_key_follows_the_weights(tiny_clip, tmp_path):
    other = build_tiny_clip(tmp_path / "other", seed=1)
    key = OpenClipEmbedder(OpenClipParams(path=str(tiny_clip))).fingerprint()
    assert key == OpenClipEmbedder(OpenClipParams(path=str(tiny_clip), batch_size=7)).fingerprint()
    assert key != OpenClipEmbedder(OpenClipParams(path=str(other))).fingerprint()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"path": "/no/such/model"}, "does not exist"),
        ({"path": "FILE"}, "architecture"),
        ({"path": "DIR"}, "open_clip_config.json"),
    ],
)
def test_open_clip_paths_are_checked(params, message, tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    path = {"FILE": str(tmp_path / "weights.bin"), "DIR": str(tmp_path)}.get(params["path"])
    with pytest.raises(ValueError, match=message):
        OpenClipEmbedder.validate(OpenClipParams(path=path or params["path"]))


def test_caption_embedder_uses_the_bundled_minilm():
    embedder = CaptionEmbedder(CaptionParams())
    embedder.setup()
    captions = ["a red car parked on a street", "a crimson automobile on a road", "a bowl of soup"]
    sources = [SourceImage(id=str(i), group="g", caption=c) for i, c in enumerate(captions)]
    v = embedder.embed(sources)
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


# --------------------------------------------------------------------------------------------
# Recipe entries and combination
# --------------------------------------------------------------------------------------------


def test_embedder_entries_are_checked():
    specs = parse_embedders([{"kind": "classical"}, {"kind": "caption", "weight": 0.5}], "here")
    assert [(s.kind, s.weight) for s in specs] == [("classical", 1.0), ("caption", 0.5)]
    with pytest.raises(ValueError, match=r"embedders\[1\]: kind 'clip' is not an embedder"):
        parse_embedders([{"kind": "clip"}], "here")
    with pytest.raises(ValueError, match="unknown key 'sid'"):
        parse_embedders([{"kind": "classical", "sid": 64}], "here")
    with pytest.raises(ValueError, match="weight"):
        parse_embedders([{"kind": "classical", "weight": 0}], "here")
    with pytest.raises(ValueError, match="embedders is empty"):
        parse_embedders([], "here")


def test_combined_similarity_is_the_weighted_mean():
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((2, 8)) for _ in range(2))
    a, b = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in (a, b))
    x = combine([a.astype(np.float32), b.astype(np.float32)], [3.0, 1.0])
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-6)
    assert x[0] @ x[1] == pytest.approx(0.75 * (a[0] @ a[1]) + 0.25 * (b[0] @ b[1]), abs=1e-5)


# --------------------------------------------------------------------------------------------
# Persisted embeddings
# --------------------------------------------------------------------------------------------


def test_store_round_trip(tmp_path):
    store = EmbeddingStore(tmp_path, "classical", "abc")
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    store.write(EmbeddedBatch(["a", "b"], vectors, ["ok", "ok"], [None, None]))
    store.write(EmbeddedBatch(["c"], np.zeros((1, 0), np.float32), ["truncated_image"], ["cut"]))
    assert store.known_ids() == {"a", "b", "c"}
    got, status, error = store.load(["b", "c", "z"])
    assert got.tolist() == [[3, 4, 5], [0, 0, 0], [0, 0, 0]]
    assert status == ["ok", "truncated_image", "not_embedded"]
    assert error == [None, "cut", None]


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
