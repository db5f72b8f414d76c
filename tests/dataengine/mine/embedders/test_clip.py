"""The open_clip embedder, with a tiny model loaded from its folder."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.mine.embedders.clip import OpenClipEmbedder, OpenClipParams
from dataengine.schema import SourceImage
from tests.builders import build_tiny_clip


def images(n: int) -> list[SourceImage]:
    rng = np.random.default_rng(0)
    return [
        SourceImage(id=f"img{i}", group="g", image=rng.integers(0, 256, (40, 56, 3), np.uint8))
        for i in range(n)
    ]


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
