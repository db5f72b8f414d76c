"""Persisted embeddings."""

from __future__ import annotations

import numpy as np

from dataengine.mine.store import EmbeddedBatch, EmbeddingStore


def test_store_round_trip(tmp_path):
    store = EmbeddingStore(tmp_path, "classical", "abc")
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    store.write(EmbeddedBatch(["a", "b"], vectors, ["ok", "ok"], [None, None]))
    store.write(EmbeddedBatch(["c"], np.zeros((1, 0), np.float32), ["truncated_image"], ["cut"]))
    assert store.missing(["c", "z", "a", "b"]).tolist() == [False, True, False, False]
    got, status, error = store.load(["b", "c", "z"])
    assert got.tolist() == [[3, 4, 5], [0, 0, 0], [0, 0, 0]]
    assert status == ["ok", "truncated_image", "not_embedded"]
    assert error == [None, "cut", None]


def test_load_from_many_parts_in_any_order(tmp_path):
    """Ids asked in any order, some twice or never stored, spread over parts written in any
    order, one of them failed rows only: each gets its own row, in the asked dtype."""
    rng = np.random.default_rng(0)
    store = EmbeddingStore(tmp_path, "clip", "f")
    stored = {}
    for part in rng.permutation(12):
        ids = [f"img-{part:02d}-{i}" for i in range(int(rng.integers(1, 40)))]
        if part == 5:  # an embedder that failed on every image of this batch
            store.write(
                EmbeddedBatch(
                    ids, np.zeros((len(ids), 0), np.float32), ["bad"] * len(ids), ["x"] * len(ids)
                )
            )
            stored.update({i: (np.zeros(8), "bad", "x") for i in ids})
            continue
        vectors = rng.standard_normal((len(ids), 8)).astype(np.float32)
        store.write(EmbeddedBatch(ids, vectors, ["ok"] * len(ids), [None] * len(ids)))
        stored.update({i: (v, "ok", None) for i, v in zip(ids, vectors, strict=True)})
    asked = [*rng.choice(sorted(stored), 150), "never-1", "never-2"]
    got, status, error = store.load(asked, np.float16)
    assert got.dtype == np.float16 and got.shape == (len(asked), 8)
    for i, image_id in enumerate(asked):
        vector, state, reason = stored.get(image_id, (np.zeros(8), "not_embedded", None))
        assert np.array_equal(got[i], vector.astype(np.float16)), image_id
        assert (status[i], error[i]) == (state, reason)
    assert store.missing(asked).sum() == 2
