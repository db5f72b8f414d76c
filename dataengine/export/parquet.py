"""Hugging Face Parquet exports: `--format hf` (every field of a sample, its frames as a
list) and `--format instructpix2pix` (the three columns diffusers' example trainer reads).

Written with `datasets`' own Parquet writer, so the files carry their features (images
decode in `datasets.load_dataset("parquet", ...)`), rolled every ROWS_PER_FILE samples into
`data/<split>-NNNNN.parquet`, with a dataset card so that `datasets.load_dataset(NEW)` opens
the folder. Image bytes are copied as they are, never re-encoded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataengine.export.samples import Losses, Sample, accepted_samples, splits_of
from dataengine.schema import replace_placeholders
from dataengine.sinks.card import card_header, render_card
from dataengine.sinks.files import atomic_write
from dataengine.storage import is_local

ROWS_PER_FILE = 1000


# --------------------------------------------------------------------------------------------
# --format hf
# --------------------------------------------------------------------------------------------


def hf_features():
    from datasets import Features, Image, Json, List, Value

    frame = {
        "image": Image(),
        "mask": Image(),
        "mask_role": Value("string"),
        "instruction": Value("string"),
        "role": Value("string"),
    }
    text = {name: Value("string") for name in ("key", "split", "task", "category")}
    more = ("instruction", "instruction_source", "caption")
    return Features(
        {
            **text,
            **{name: Value("string") for name in more},
            "frames": List(frame),
            "target": Image(),
            "scores": Json(),
            "provenance": Json(),
        }
    )


def hf_row(sample: Sample, losses: Losses) -> dict[str, Any]:
    """Every sample is expressible: nothing is lost."""
    meta, members = sample.meta, sample.members
    frames = [
        {
            "image": _image(sample, f["image"]),
            "mask": _image(sample, f["mask"]) if f["mask"] else None,
            "mask_role": f["mask_role"],
            "instruction": f["instruction"],
            "role": f["role"],
        }
        for f in meta["frames"]
    ]
    fields = ("task", "category", "instruction", "instruction_source", "caption")
    return {
        "key": sample.key,
        "split": sample.split,
        **{name: meta[name] for name in fields},
        "frames": frames,
        "target": {"bytes": members[meta["target"]], "path": f"{sample.key}.{meta['target']}"},
        "scores": meta["scores"],
        "provenance": meta["provenance"],
    }


# --------------------------------------------------------------------------------------------
# --format instructpix2pix
# --------------------------------------------------------------------------------------------


def ip2p_features():
    from datasets import Features, Image, Value

    return Features(
        {"input_image": Image(), "edit_prompt": Value("string"), "edited_image": Image()}
    )


def ip2p_loss(sample: Sample) -> str | None:
    """Why InstructPix2Pix's (input image, prompt, edited image) cannot hold the sample."""
    inputs = sample.input_frames()
    if sample.history_frames():
        return "history turns (multi-turn)"
    if not inputs:
        return "no input image (text to image)"
    if len(inputs) > 1:
        return "more than one input image"
    if inputs[0]["mask"]:
        return f"a mask ({inputs[0]['mask_role']}): the format has none"
    return None


def ip2p_row(sample: Sample, losses: Losses) -> dict[str, Any] | None:
    reason = ip2p_loss(sample)
    if reason:
        losses.add(sample, reason)
        return None
    meta = sample.meta
    return {
        "input_image": _image(sample, sample.input_frames()[0]["image"]),
        "edit_prompt": replace_placeholders(meta["instruction"], "the image"),
        "edited_image": _image(sample, meta["target"]),
    }


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_parquet(
    out: Path, new: Path, features, row_of: Callable, losses: Losses, title: str
) -> Counter:
    """Every accepted sample through `row_of` into Parquet files per split; a card; -> the
    rows written per split."""
    written: Counter[str] = Counter()
    splits = splits_of(out)
    for split in splits:
        written[split] = _write_split(out, new, split, features, row_of, losses)
    present = [s for s in splits if written[s]]
    header = card_header(present, "data/{split}-*.parquet", features._to_yaml_list())
    body = f"# {title}\n\nExported by `ace data export` from {out.name}: " + ", ".join(
        f"{written[s]} {s}" for s in present
    )
    atomic_write(new / "README.md", render_card(header, body + ".\n").encode())
    return written


def _write_split(out, new, split, features, row_of, losses) -> int:
    from datasets.arrow_writer import ParquetWriter

    writer, count, part = None, 0, 0
    for sample in accepted_samples(out, split):
        row = row_of(sample, losses)
        if row is None:
            continue
        if writer is None:
            stream = _create(new / "data" / f"{split}-{part:05d}.parquet")
            writer = ParquetWriter(features=features, stream=stream)
        writer.write(row)
        count += 1
        if count % ROWS_PER_FILE == 0:
            _finish(writer, stream)
            writer, part = None, part + 1
    if writer is not None:
        _finish(writer, stream)
    return count


def _create(path):
    if is_local(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


def _finish(writer, stream) -> None:
    writer.finalize()
    writer.close()
    stream.close()


def _image(sample: Sample, member: str) -> dict[str, Any]:
    """An image feature's value: the member's bytes as they are, named by key and member."""
    return {"bytes": sample.members[member], "path": f"{sample.key}.{member}"}
