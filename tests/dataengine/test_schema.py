import json

import numpy as np

from dataengine.schema import (
    INDEX_COLUMNS,
    Frame,
    Pair,
    content_key,
    index_row,
    index_schema,
    sample_json,
)


def test_content_key_is_stable_hex_and_dot_free():
    key = content_key("default", "canny_extraction", ["photo-a"], {"low": 50}, 3)
    assert key == content_key("default", "canny_extraction", ["photo-a"], {"low": 50}, 3)
    assert len(key) == 32 and "." not in key and int(key, 16) >= 0


def test_content_key_changes_with_every_input():
    base = ("default", "canny_extraction", ["photo-a"], {"low": 50}, 3)
    variants = [
        ("other", *base[1:]),
        (base[0], "grayscale", *base[2:]),
        (*base[:2], ["photo-b"], *base[3:]),
        (*base[:3], {"low": 51}, base[4]),
        (*base[:4], 4),
    ]
    keys = {content_key(*v) for v in variants} | {content_key(*base)}
    assert len(keys) == len(variants) + 1


def _pair(ok: bool = True) -> Pair:
    image = np.zeros((8, 8, 3), np.uint8)
    pair = Pair(
        key="ab12",
        task="inpainting",
        category="repainting",
        split="train",
        frames=[Frame(image=image, mask=np.zeros((8, 8), np.uint8))],
        target=image,
        instruction="fill {image}",
        provenance={"recipe": "r", "source_ids": ["s"]},
        scores={"l1": 0.5},
    )
    return pair if ok else pair.fail("decode_error", "broken")


def test_sample_json_names_members_and_fields():
    meta = sample_json(_pair())
    assert meta["frames"] == [
        {"image": "src0.jpg", "mask": "mask0.png", "instruction": None, "role": "input"}
    ]
    assert meta["target"] == "tgt.jpg"
    assert set(meta) == {
        "task",
        "category",
        "instruction",
        "frames",
        "target",
        "instruction_source",
        "caption",
        "provenance",
        "scores",
        "split",
    }


def test_index_row_flattens_fields_and_scores():
    row = index_row(_pair(), {"json": 10, "src0.jpg": 20})
    assert tuple(k for k in row if not k.startswith("score_")) == INDEX_COLUMNS
    assert row["score_l1"] == 0.5 and row["bytes"] == 30
    assert json.loads(row["frames"])[0]["mask"] == "mask0.png"
    assert index_schema([row]).names[-1] == "score_l1"


def test_failed_row_keeps_reason_and_drops_images():
    row = index_row(_pair(ok=False), {})
    assert (row["status"], row["error"], row["frames"], row["n_frames"]) == (
        "decode_error",
        "broken",
        None,
        0,
    )
