"""Persisted embeddings."""

from __future__ import annotations

import numpy as np

from dataengine.mine.store import EmbeddedBatch, EmbeddingStore


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
