"""Embedder entries of a recipe, and combining several embedders' vectors."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.mine.embedders.base import combine, parse_embedders


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
