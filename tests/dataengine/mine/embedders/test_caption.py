"""The caption embedder, with the bundled MiniLM."""

from __future__ import annotations

from dataengine.mine.embedders.caption import CaptionEmbedder, CaptionParams
from dataengine.schema import SourceImage


def test_caption_embedder_uses_the_bundled_minilm():
    embedder = CaptionEmbedder(CaptionParams())
    embedder.setup()
    captions = ["a red car parked on a street", "a crimson automobile on a road", "a bowl of soup"]
    sources = [SourceImage(id=str(i), group="g", caption=c) for i, c in enumerate(captions)]
    v = embedder.embed(sources)
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
