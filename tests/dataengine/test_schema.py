import io
import json

import numpy as np

from dataengine.schema import (
    FRAME_FIELDS,
    INDEX_COLUMNS,
    MAX_FRAMES,
    SAMPLE_FIELDS,
    STATUS_MISSING_IMAGE,
    STATUS_NEEDS_MLLM,
    STATUS_OK,
    STATUS_READ_ERROR,
    STATUS_REJECTED,
    Frame,
    Pair,
    canonical_json,
    content_key,
    image_ref,
    image_refs,
    index_row,
    index_schema,
    is_key,
    placeholder,
    replace_placeholders,
    sample_json,
    valid_text,
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
        {
            "image": "src0.jpg",
            "mask": "mask0.png",
            "mask_role": "edit",
            "instruction": None,
            "role": "input",
        }
    ]
    assert meta["target"] == "tgt.jpg"
    assert (
        tuple(meta)
        == SAMPLE_FIELDS
        == (
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
        )
    )
    assert (
        tuple(meta["frames"][0])
        == FRAME_FIELDS
        == ("image", "mask", "mask_role", "instruction", "role")
    )
    assert (meta["task"], meta["split"], meta["scores"]) == ("inpainting", "train", {"l1": 0.5})


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


def test_image_refs_name_frames_in_order():
    assert image_refs("Put {image1} into {image}.") == [1, 0]
    assert image_refs("{image2} beside {image2}, then {image10}") == [2, 2, 10]
    assert image_refs("No frames here: {img}, {image x}, {Image1}, {image-1}.") == []
    assert image_refs("{{image}}") == [0]  # the inner braces are a placeholder
    assert image_refs("") == []


def test_image_ref_reads_one_placeholder_or_refuses_it():
    assert image_ref("{image}") == 0
    assert image_ref("{image1}") == 1
    assert image_ref("{image01}") == 1  # the frame it names; validation keeps the spelling
    for bad in ("{img}", "{color}", "{image x}", "{image} ", "image1", "{}", "{image-1}"):
        assert image_ref(bad) is None, bad


def test_placeholder_spells_what_image_ref_reads():
    assert placeholder(0) == "{image}"
    assert placeholder(1) == "{image1}"
    assert placeholder("") == "{image}"  # numbers as IMAGE_PLACEHOLDER captured them
    assert placeholder("01") == "{image01}"
    assert [image_ref(placeholder(i)) for i in range(MAX_FRAMES)] == list(range(MAX_FRAMES))


def test_replace_placeholders_leaves_other_braces():
    text = "Put {image1} into {image}, not {img} or {color}."
    assert replace_placeholders(text, "the image") == (
        "Put the image into the image, not {img} or {color}."
    )
    assert replace_placeholders(text, "") == "Put  into , not {img} or {color}."


def test_status_names_are_the_format_names():
    statuses = (
        STATUS_OK,
        STATUS_REJECTED,
        STATUS_READ_ERROR,
        STATUS_MISSING_IMAGE,
        STATUS_NEEDS_MLLM,
    )
    assert statuses == ("ok", "rejected", "read_error", "missing_image", "needs_mllm_instruction")
    assert _pair().fail(STATUS_REJECTED, "l1 too high").ok is False


def test_json_and_keys_are_valid_unicode_whatever_the_names():
    """A name no UTF-8 decoder could read (Python keeps such bytes as lone surrogates)
    becomes visible escapes; strict readers (pyarrow, browsers) then take the JSON."""
    import pyarrow.json as pa_json

    undecodable = b"caf\xe9.jpg".decode("utf-8", "surrogateescape")
    text = canonical_json({"id": undecodable, "smile": "\U0001f600", "odd": "\ud800"})
    assert json.loads(text) == {"id": "caf\\xe9.jpg", "smile": "\U0001f600", "odd": "\ufffd"}
    pa_json.read_json(io.BytesIO(text.encode()))  # raises on a lone surrogate escape
    assert valid_text("plain ? text") == "plain ? text"
    assert content_key("r", "t", [undecodable], {}, 0) == content_key(
        "r", "t", [valid_text(undecodable)], {}, 0
    )


def test_a_key_is_hex_and_nothing_else():
    assert is_key("ab" * 16)
    for crafted in ("../../x", "ab/cd" * 4, "AB" * 16, "ab" * 8 + ".json", ""):
        assert not is_key(crafted)
