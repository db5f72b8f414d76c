"""Streaming our shards: buckets, decoding, curation, determinism and replay for resume."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from ace_model.data import Position, ShardStream, decode_batch, ordered_batches
from dataengine.corpus.curation import CURATION_SCHEMA
from dataengine.corpus.read import iter_samples, read_index
from dataengine.sinks.latent_store import buckets, nearest_bucket

SIZES = buckets(32, 4)


def keys(batches, n):
    return [[raw["__key__"] for raw in raws] for _, _, raws in itertools.islice(batches, n)]


def test_buckets_hold_about_the_same_pixels():
    assert (32, 32) in SIZES
    for h, w in SIZES:
        assert h % 4 == 0 and w % 4 == 0
        assert 0.75 < h * w / 32**2 < 1.25
    assert nearest_bucket(300, 400, SIZES) == (28, 36)  # 3:4 landscape
    assert nearest_bucket(512, 512, SIZES) == (32, 32)


def test_every_train_sample_once_per_epoch(reference):
    ok = read_index(reference).to_pandas().query("status == 'ok' and split == 'train'")
    stream = ShardStream(reference, "train", 4, SIZES, seed=0)
    epoch = [raw["__key__"] for _, raws in stream.epoch_plan(0) for raw in raws]
    assert sorted(epoch) == sorted(ok.key)
    assert epoch != [raw["__key__"] for _, raws in stream.epoch_plan(1) for raw in raws]


def test_a_batch_shares_its_bucket_and_frame_count(reference):
    stream = ShardStream(reference, "train", 4, SIZES, seed=0)
    for size, raws in stream.epoch_plan(0):
        lcus, skipped = decode_batch(raws, size)
        assert not skipped
        assert len({lcu.n_frames for lcu in lcus}) == 1
        for lcu in lcus:
            assert lcu.target.shape == (3, *size)
            assert all(img.shape == (3, *size) for img in lcu.images)
            assert lcu.target.min() >= -1 and lcu.target.max() <= 1


def test_masks_decode_where_the_record_has_them(reference):
    sample = next(s for s in iter_samples(reference, "train") if s["json"]["task"] == "inpainting")
    raw = {**sample, "json": json.dumps(sample["json"]).encode()}
    lcus, _ = decode_batch([raw], (32, 32))
    mask = lcus[0].masks[0]
    assert 0 < mask.mean() < 1  # a hole, not the whole image
    # The blanked-out hole is black in the frame: where the mask is set, pixels are dark.
    assert lcus[0].images[0][:, mask[0] > 0.99].mean() < -0.9


def test_same_seed_same_stream_and_replay_from_a_position(reference):
    a = ShardStream(reference, "train", 4, SIZES, seed=3)
    b = ShardStream(reference, "train", 4, SIZES, seed=3)
    straight = keys(a.batches(Position()), 20)  # crosses into the next epoch
    assert straight == keys(b.batches(Position()), 20)
    positions = [p for p, _, _ in itertools.islice(a.batches(Position()), 20)]
    assert positions[-1].epoch >= 1
    resume_at = positions[13]
    assert keys(b.batches(resume_at), 6) == straight[14:20]


def test_curation_rejections_never_enter(reference, tmp_path):
    data = tmp_path / "corpus"
    shutil.copytree(reference, data)
    stream = ShardStream(data, "train", 4, SIZES, seed=0)
    first = [raw["__key__"] for _, raws in stream.epoch_plan(0) for raw in raws]
    rejected = first[:3]
    (data / "curation").mkdir()
    rows = [
        {
            "key": k,
            "decision": "reject",
            "reason": "blurry",
            "decided_at": "2024-01-01T00:00:00Z",
            "by": "test",
        }
        for k in rejected
    ]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=CURATION_SCHEMA), data / "curation" / "a.parquet"
    )
    kept = [
        raw["__key__"]
        for _, raws in ShardStream(data, "train", 4, SIZES, 0).epoch_plan(0)
        for raw in raws
    ]
    assert sorted(kept) == sorted(set(first) - set(rejected))
    bench = [raw["__key__"] for _, raws in ordered_batches(data, "train", 4, SIZES) for raw in raws]
    assert not set(bench) & set(rejected)


def test_broken_samples_are_skipped_with_a_reason(reference):
    sample = next(iter(iter_samples(reference, "train")))
    meta = dict(sample["json"])
    good = {**sample, "json": json.dumps(meta).encode()}
    truncated = {**good, "__key__": "cut", meta["target"]: sample[meta["target"]][:200]}
    missing = {k: v for k, v in good.items() if k != meta["target"]} | {"__key__": "gone"}
    lcus, skipped = decode_batch([good, truncated, missing], (32, 32))
    assert [lcu.key for lcu in lcus] == [sample["__key__"]]
    assert len(skipped) == 2
    assert skipped[0].startswith("cut: OSError") and skipped[1].startswith("gone: KeyError")
    assert isinstance(lcus[0].target, torch.Tensor)


def test_missing_split_says_how_to_make_one(tmp_path: Path):
    import pytest

    with pytest.raises(FileNotFoundError, match="ace data run"):
        ShardStream(tmp_path, "train", 4, SIZES, seed=0)
